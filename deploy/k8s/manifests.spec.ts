import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

// Offline schema check of deploy/k8s: every document parses, has the fields the API server
// requires for its kind, and the deployment rules of Rampart hold (probes on the contract's
// health endpoints, requests, PDBs, HPAs, scrape annotations, secrets by reference, REDIS_URL).
type Doc = Record<string, any>;
const DIR = __dirname;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const docs: Array<{ file: string; doc: Doc }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: d.toJS() as Doc };
  }),
).filter(({ doc }) => doc);
const byKind = (kind: string) => docs.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
const named = (kind: string, name: string) => byKind(kind).find((d) => d.metadata.name === name);
const APPS = ['gateway', 'query', 'delivery'] as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1', ConfigMap: 'v1', Secret: 'v1', Service: 'v1', Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1', HorizontalPodAutoscaler: 'autoscaling/v2', Kustomization: 'kustomize.config.k8s.io/v1beta1',
};

describe('deploy/k8s manifests', () => {
  it('parse, and every document has a known apiVersion/kind and a valid name and namespace', () => {
    expect(docs.length).toBeGreaterThan(10);
    for (const { file, doc } of docs) {
      expect({ file, kind: doc.kind, apiVersion: doc.apiVersion }).toEqual({ file, kind: doc.kind, apiVersion: API_VERSIONS[doc.kind] });
      if (doc.kind === 'Kustomization') continue;
      expect(doc.metadata?.name).toMatch(DNS_LABEL);
      if (doc.kind !== 'Namespace') expect(doc.metadata.namespace).toBe('rampart');
    }
  });

  it('kustomization lists every manifest file', () => {
    const kustomization = byKind('Kustomization')[0];
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
  });

  describe.each(APPS)('%s', (app) => {
    const deployment = () => named('Deployment', app)!;
    const container = () => deployment().spec.template.spec.containers[0];
    const port = (name: string) => container().ports.find((p: Doc) => p.name === name)?.containerPort;

    it('is a Deployment whose selector matches its pod labels, with an image, command and ports', () => {
      const d = deployment();
      expect(d).toBeDefined();
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
      expect(container().image).toEqual(expect.any(String));
      expect(container().command).toEqual(['node', `dist/apps/${app}/main.js`]);
      for (const p of container().ports) expect(p.containerPort).toBeGreaterThan(0);
    });

    it('probes the contract health endpoints: readiness /health/ready, liveness /health/live', () => {
      const c = container();
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(port('http')).toBeGreaterThan(0);
      // A failing Redis makes the app unready, not dead: liveness gives more slack than readiness.
      expect(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds).toBeGreaterThan(c.readinessProbe.failureThreshold * c.readinessProbe.periodSeconds);
    });

    it('requests CPU and memory and limits memory', () => {
      const r = container().resources;
      expect(r.requests.cpu).toMatch(/^\d+m?$/);
      expect(r.requests.memory).toMatch(/^\d+(Mi|Gi)$/);
      expect(r.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
    });

    it('is scraped by Prometheus on its metrics port', () => {
      const a = deployment().spec.template.metadata.annotations;
      expect(a['prometheus.io/scrape']).toBe('true');
      expect(a['prometheus.io/path']).toBe('/metrics');
      expect(Number(a['prometheus.io/port'])).toBe(port('http'));
    });

    it('has a PodDisruptionBudget selecting its pods', () => {
      const pdb = named('PodDisruptionBudget', app)!;
      expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable).toBeDefined();
      expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.selector.matchLabels);
    });

    it('reads REDIS_URL and the rest of the shared config from the ConfigMap, and binds 0.0.0.0', () => {
      const config = named('ConfigMap', 'rampart-config')!;
      expect(container().envFrom).toEqual([{ configMapRef: { name: 'rampart-config' } }]);
      expect(config.data.REDIS_URL).toMatch(/^(redis|rediss)(\+cluster|\+sentinel)?:\/\//);
      expect(config.data.HOST).toBe('0.0.0.0');
    });

    it('uses only declared env names with string values (no secret inline)', () => {
      for (const e of container().env ?? []) {
        expect(e.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
        if ('value' in e) expect(typeof e.value).toBe('string');
        expect(['JWT_SECRET', 'ADMIN_TOKEN'].includes(e.name) && 'value' in e).toBe(false);
      }
    });
  });

  it('gives gateway and query a CPU HorizontalPodAutoscaler aimed at their Deployment', () => {
    for (const app of ['gateway', 'query']) {
      const hpa = named('HorizontalPodAutoscaler', app)!;
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      // An HPA on CPU needs a CPU request to compute utilisation.
      expect(named('Deployment', app)!.spec.template.spec.containers[0].resources.requests.cpu).toBeDefined();
    }
    expect(named('HorizontalPodAutoscaler', 'delivery')).toBeUndefined();
  });

  it('exposes query and delivery through headless Services the gateway resolves (QUERY_DNS/DELIVERY_DNS)', () => {
    const gatewayEnv = Object.fromEntries(named('Deployment', 'gateway')!.spec.template.spec.containers[0].env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
    for (const [app, tcp] of [['query', 4001], ['delivery', 4101]] as const) {
      const headless = named('Service', `${app}-headless`)!;
      expect(headless.spec.clusterIP).toBe('None');
      expect(headless.spec.selector).toEqual(named('Deployment', app)!.spec.selector.matchLabels);
      expect(headless.spec.ports.map((p: Doc) => p.port)).toContain(tcp);
      expect(gatewayEnv[`${app.toUpperCase()}_DNS`]).toBe(`${app}-headless.rampart.svc.cluster.local:${tcp}`);
      const env = Object.fromEntries(named('Deployment', app)!.spec.template.spec.containers[0].env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
      expect(Number(env.TCP_PORT)).toBe(tcp);
    }
  });

  it('takes JWT_SECRET and ADMIN_TOKEN from the Secret by reference', () => {
    const secret = named('Secret', 'rampart-secrets')!;
    const env = named('Deployment', 'gateway')!.spec.template.spec.containers[0].env as Doc[];
    for (const key of ['JWT_SECRET', 'ADMIN_TOKEN']) {
      expect(env.find((e) => e.name === key)?.valueFrom).toEqual({ secretKeyRef: { name: 'rampart-secrets', key } });
      expect(Object.keys(secret.stringData ?? secret.data)).toContain(key);
    }
    expect(Buffer.byteLength(secret.stringData.JWT_SECRET)).toBeGreaterThanOrEqual(32);
    expect(secret.stringData.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(24);
  });
});
