import { ConfigError, isPlaceholderSecret } from '@app/platform';
import { loadAnalyzerConfig } from '../../apps/analyzer/src/analyzer.config';
import { loadDeliveryConfig } from '../../apps/delivery/src/config/delivery.config';
import { loadGatewayConfig } from '../../apps/gateway/src/config/gateway.config';
import { loadQueryConfig } from '../../apps/query/src/config/query.config';
import { admits, egressAdmits, loadDir, schemaCheck, type Destination, type Doc, type Peer } from './manifest-docs';

// Offline checks of deploy/k8s: every document is valid against the Kubernetes API schema
// (kubernetes-models, no network), and the deployment rules of Rampart hold: probes, Pod Security
// "restricted", graceful rollouts, spreading, NetworkPolicies, secrets by reference that refuse to
// run as shipped, and an environment each app's own config loader accepts.
const { files, docs } = loadDir(__dirname);
const byKind = (kind: string) => docs.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
const named = (kind: string, name: string) => byKind(kind).find((d) => d.metadata.name === name);
const APPS = ['gateway', 'query', 'delivery', 'analyzer'] as const;
type App = (typeof APPS)[number];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const deployment = (app: App) => named('Deployment', app)!;
const podSpec = (app: App) => deployment(app).spec.template.spec;
const container = (app: App) => podSpec(app).containers[0];
const port = (app: App, name: string) => container(app).ports.find((p: Doc) => p.name === name)?.containerPort as number;
const envValue = (app: App, name: string) => (container(app).env as Doc[]).find((e) => e.name === name);

/** The environment the app's process gets in the cluster (ConfigMap, values, Secret by reference). */
function clusterEnv(app: App, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ...named('ConfigMap', 'rampart-config')!.data };
  for (const e of container(app).env as Doc[]) {
    if ('value' in e) env[e.name] = e.value;
    else if (e.valueFrom.secretKeyRef) {
      if (e.valueFrom.secretKeyRef.key in secrets || !e.valueFrom.secretKeyRef.optional) env[e.name] = secrets[e.valueFrom.secretKeyRef.key];
    }
    else if (e.valueFrom.fieldRef?.fieldPath === 'status.podIP') env[e.name] = '10.1.2.3';
  }
  return env;
}
const LOADERS: Record<App, (env: NodeJS.ProcessEnv) => unknown> = { gateway: loadGatewayConfig, query: loadQueryConfig, delivery: loadDeliveryConfig, analyzer: loadAnalyzerConfig };
/** The Secret's keys each app must get (by reference, not optional). */
const SECRET_KEYS: Record<App, string[]> = { gateway: ['JWT_SECRET', 'ADMIN_TOKEN', 'SERVICE_TOKEN'], query: ['SERVICE_TOKEN'], delivery: ['SERVICE_TOKEN'], analyzer: ['DATABASE_URL'] };
const REAL_SECRETS = {
  JWT_SECRET: '9c1e5a7f3b2d4e6a8c0f1b3d5e7a9c2e4f6b8d0a',
  ADMIN_TOKEN: '4b7d9f1a3c5e7b9d1f3a5c7e',
  SERVICE_TOKEN: 'e2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6',
  DATABASE_URL: 'postgres://rampart:5d8f2a7c9e1b3d6f@rampart-pg-rw.rampart.svc.cluster.local:5432/rampart',
};
const shippedSecrets = () => named('Secret', 'rampart-secrets')!.stringData as Record<string, string>;

describe('deploy/k8s manifests', () => {
  it('parse, and every document has a valid name and the namespace rampart', () => {
    expect(docs.length).toBeGreaterThan(15);
    for (const { doc } of docs) {
      if (doc.kind === 'Kustomization') continue;
      expect(doc.metadata?.name).toMatch(DNS_LABEL);
      if (doc.kind !== 'Namespace') expect(doc.metadata.namespace).toBe('rampart');
    }
  });

  it('are valid against the Kubernetes API schema (kubernetes-models, offline): all but the Kustomization', () => {
    const results = schemaCheck(docs);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.filter((r) => !r.schema).map((r) => r.kind)).toEqual(['Kustomization']);
    expect(results.filter((r) => r.schema).length).toBe(docs.length - 1);
  });

  it('the schema check fails on a broken document (a string uid, a container without a name, a bad port)', () => {
    const broken = JSON.parse(JSON.stringify(deployment('query'))) as Doc;
    broken.spec.template.spec.securityContext.runAsUser = '1000';
    delete broken.spec.template.spec.containers[0].name;
    const policy = JSON.parse(JSON.stringify(named('NetworkPolicy', 'query-ingress'))) as Doc;
    policy.spec.ingress[0].ports[0].port = { bad: true };
    const results = schemaCheck([{ file: 'a', doc: broken }, { file: 'b', doc: policy }]);
    expect(results[0].error).toMatch(/runAsUser must be integer|containers\/0 must have required property 'name'/);
    expect(results[1].error).toMatch(/port/);
  });

  it('kustomization lists every manifest file, and no example', () => {
    const kustomization = byKind('Kustomization')[0];
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
  });

  it('the namespace enforces Pod Security "restricted"', () => {
    const labels = named('Namespace', 'rampart')!.metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  describe.each(APPS)('%s', (app) => {
    it('is a Deployment whose selector matches its pod labels, with an image, command and ports', () => {
      const d = deployment(app);
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
      expect(container(app).command).toEqual(['node', `dist/apps/${app}/main.js`]);
      expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    });

    it('meets Pod Security "restricted" as the image\'s node user (1000), with a read-only root and /tmp on an emptyDir', () => {
      const pod = podSpec(app);
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext).toEqual({
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        const tmp = c.volumeMounts.find((m: Doc) => m.mountPath === '/tmp');
        expect(pod.volumes.find((v: Doc) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    });

    it('probes: liveness /health/live; readiness /health/live for the gateway, /health/ready for the services', () => {
      const c = container(app);
      // The gateway stays in its Service while Redis or a service is down, answering its own 503s;
      // /health/ready would take every gateway out at once (README, "Running in production").
      expect(c.readinessProbe.httpGet).toEqual({ path: app === 'gateway' ? '/health/live' : '/health/ready', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds).toBeGreaterThan(c.readinessProbe.failureThreshold * c.readinessProbe.periodSeconds);
    });

    it('sleeps in preStop, and its grace period covers the sleep plus the drain (SHUTDOWN_DRAIN_MS for delivery); the analyzer, behind no Service, does not sleep', () => {
      if (app === 'analyzer') {
        expect(container(app).lifecycle).toBeUndefined();
        expect(byKind('Service').filter((s) => Object.entries(s.spec.selector ?? {}).every(([k, v]) => deployment(app).spec.template.metadata.labels[k] === v))).toEqual([]);
        expect(podSpec(app).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10);
        return;
      }
      const [cmd, seconds] = container(app).lifecycle.preStop.exec.command;
      expect(cmd).toBe('sleep');
      expect(Number(seconds)).toBeGreaterThanOrEqual(3);
      const drainSeconds = app === 'delivery' ? Number(envValue(app, 'SHUTDOWN_DRAIN_MS')?.value ?? 20_000) / 1000 : 0;
      if (app === 'delivery') expect(drainSeconds).toBe(20);
      expect(podSpec(app).terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + drainSeconds);
    });

    it('spreads over zones and nodes, selecting its own pods', () => {
      const constraints = podSpec(app).topologySpreadConstraints as Doc[];
      expect(constraints.map((c) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of constraints) {
        expect(c.maxSkew).toBe(1);
        expect(c.labelSelector.matchLabels).toEqual(deployment(app).spec.selector.matchLabels);
      }
    });

    it('requests CPU and memory, limits memory, and is scraped by Prometheus on its metrics port', () => {
      const r = container(app).resources;
      expect(r.requests.cpu).toMatch(/^\d+m?$/);
      expect(r.requests.memory).toMatch(/^\d+(Mi|Gi)$/);
      expect(r.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
      const a = deployment(app).spec.template.metadata.annotations;
      expect([a['prometheus.io/scrape'], a['prometheus.io/path'], Number(a['prometheus.io/port'])]).toEqual(['true', '/metrics', port(app, 'http')]);
    });

    it('has a PodDisruptionBudget selecting its pods', () => {
      const pdb = named('PodDisruptionBudget', app)!;
      expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable).toBeDefined();
      expect(pdb.spec.selector.matchLabels).toEqual(deployment(app).spec.selector.matchLabels);
    });

    it('reads the shared config from the ConfigMap and every secret (SERVICE_TOKEN, DATABASE_URL for the analyzer) from the Secret by reference', () => {
      expect(container(app).envFrom).toEqual([{ configMapRef: { name: 'rampart-config' } }]);
      for (const key of SECRET_KEYS[app]) expect(envValue(app, key)).toEqual({ name: key, valueFrom: { secretKeyRef: { name: 'rampart-secrets', key } } });
      for (const e of container(app).env) if ('value' in e) expect(typeof e.value).toBe('string');
    });

    it('as shipped, its config loader refuses to start on the placeholder secrets, naming each one (the analyzer: see the DATABASE_URL test below)', () => {
      if (app === 'analyzer') return;
      const loader = LOADERS[app];
      let error: unknown;
      try {
        loader(clusterEnv(app, shippedSecrets()));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const keys = SECRET_KEYS[app];
      expect([...(error as ConfigError).problems].sort()).toEqual(keys.sort().map((k) => `${k} is a placeholder, not a secret: set a random value (e.g. openssl rand -hex 32)`));
    });

    it('with real secrets, its config loader accepts the whole environment of the manifests', () => {
      expect(() => LOADERS[app](clusterEnv(app, REAL_SECRETS))).not.toThrow();
    });
  });

  it('the Secret\'s placeholders are long enough for the length checks, so the placeholder check is what stops them', () => {
    const secrets = shippedSecrets();
    expect(Object.keys(secrets).sort()).toEqual(['ADMIN_TOKEN', 'DATABASE_URL', 'JWT_SECRET', 'SERVICE_TOKEN']);
    for (const [key, min] of [['JWT_SECRET', 32], ['ADMIN_TOKEN', 24], ['SERVICE_TOKEN', 32]] as const) {
      expect(Buffer.byteLength(secrets[key])).toBeGreaterThanOrEqual(min);
      expect(isPlaceholderSecret(secrets[key])).toBe(true);
    }
  });

  it('DATABASE_URL: the analyzer requires it, query takes it if the Secret has it; the shipped value is a placeholder URL', () => {
    expect(envValue('analyzer', 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'rampart-secrets', key: 'DATABASE_URL' } } });
    // Optional for query: a Secret created before the analyzer (without the key) still starts query.
    expect(envValue('query', 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'rampart-secrets', key: 'DATABASE_URL', optional: true } } });
    expect(() => loadQueryConfig(clusterEnv('query', { ...REAL_SECRETS, DATABASE_URL: undefined as unknown as string }))).not.toThrow();
    const shipped = shippedSecrets().DATABASE_URL;
    expect(isPlaceholderSecret(shipped)).toBe(true);
    // The analyzer's loader does not refuse it (it checks the URL's form only): secret.yaml says so.
    expect(() => loadAnalyzerConfig(clusterEnv('analyzer', shippedSecrets()))).not.toThrow();
    expect(new URL(shipped).host).toBe('rampart-pg-rw.rampart.svc.cluster.local:5432');
    expect(() => loadAnalyzerConfig(clusterEnv('analyzer', { ...REAL_SECRETS, DATABASE_URL: '' }))).toThrow(/DATABASE_URL must be set/);
  });

  it('gives gateway and query a CPU HorizontalPodAutoscaler aimed at their Deployment, and delivery none', () => {
    for (const app of ['gateway', 'query'] as const) {
      const hpa = named('HorizontalPodAutoscaler', app)!;
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    }
    expect(named('HorizontalPodAutoscaler', 'delivery')).toBeUndefined();
    // The analyzers share a consumer group; CPU says little about their backlog (rampart_analyzer_backlog).
    expect(named('HorizontalPodAutoscaler', 'analyzer')).toBeUndefined();
  });

  it('exposes query and delivery through headless Services the gateway resolves (QUERY_DNS/DELIVERY_DNS)', () => {
    for (const [app, tcp] of [['query', 4001], ['delivery', 4101]] as const) {
      const headless = named('Service', `${app}-headless`)!;
      expect(headless.spec.clusterIP).toBe('None');
      expect(headless.spec.selector).toEqual(deployment(app).spec.selector.matchLabels);
      expect(headless.spec.ports.map((p: Doc) => p.port)).toContain(tcp);
      expect(envValue('gateway', `${app.toUpperCase()}_DNS`)?.value).toBe(`${app}-headless.rampart.svc.cluster.local:${tcp}`);
      expect(Number(envValue(app, 'TCP_PORT')?.value)).toBe(tcp);
    }
  });

  describe('NetworkPolicy', () => {
    const policies = byKind('NetworkPolicy');
    const podLabels = (app: App) => deployment(app).spec.template.metadata.labels;
    const rampart = { 'kubernetes.io/metadata.name': 'rampart' };
    const from: Record<string, Peer> = {
      gateway: { namespace: rampart, pod: podLabels('gateway') },
      query: { namespace: rampart, pod: podLabels('query') },
      analyzer: { namespace: rampart, pod: podLabels('analyzer') },
      'another pod of the namespace': { namespace: rampart, pod: { app: 'debug' } },
      prometheus: { namespace: { 'kubernetes.io/metadata.name': 'monitoring' }, pod: { 'app.kubernetes.io/name': 'prometheus' } },
      'another pod of monitoring': { namespace: { 'kubernetes.io/metadata.name': 'monitoring' }, pod: { 'app.kubernetes.io/name': 'grafana' } },
      'a pod of another namespace': { namespace: { 'kubernetes.io/metadata.name': 'shop' }, pod: { 'app.kubernetes.io/name': 'prometheus' } },
    };
    const can = (source: string, app: App, portName: string) => admits(policies, 'rampart', podLabels(app), container(app).ports, from[source], port(app, portName));

    it('denies all ingress in the namespace by default', () => {
      const deny = named('NetworkPolicy', 'default-deny-ingress')!;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
      expect(admits(policies, 'rampart', { app: 'anything' }, [{ containerPort: 8080 }], from.gateway, 8080)).toBe(false);
    });

    it.each(['query', 'delivery'] as const)('%s: TCP port only from gateway pods, HTTP (metrics, health) only from Prometheus', (app) => {
      expect(can('gateway', app, 'tcp')).toBe(true);
      for (const source of Object.keys(from).filter((s) => s !== 'gateway')) expect([source, can(source, app, 'tcp')]).toEqual([source, false]);
      expect(can('prometheus', app, 'http')).toBe(true);
      for (const source of Object.keys(from).filter((s) => s !== 'prometheus')) expect([source, can(source, app, 'http')]).toEqual([source, false]);
    });

    it('analyzer: its HTTP port (metrics, health) only from Prometheus; it has no other port', () => {
      expect(container('analyzer').ports.map((p: Doc) => p.name)).toEqual(['http']);
      expect(can('prometheus', 'analyzer', 'http')).toBe(true);
      for (const source of Object.keys(from).filter((s) => s !== 'prometheus')) expect([source, can(source, 'analyzer', 'http')]).toEqual([source, false]);
    });

    describe('egress', () => {
      const redis: Destination = { namespace: rampart, pod: { redis_setup_type: 'cluster' } };
      const postgres: Destination = { namespace: rampart, pod: { 'cnpg.io/cluster': 'rampart-pg' } };
      const dns: Destination = { namespace: { 'kubernetes.io/metadata.name': 'kube-system' }, pod: { 'k8s-app': 'kube-dns' } };
      const managed: Destination = { external: 'redis.example.cache.amazonaws.com' };
      const go = (app: App, to: Destination, toPort: number, protocol: 'TCP' | 'UDP' = 'TCP') => egressAdmits(policies, 'rampart', podLabels(app), to, toPort, protocol);

      it('analyzer: only DNS, Redis (6379, sentinels 26379) and PostgreSQL (5432), in or out of the cluster', () => {
        const allowed: Array<[string, Destination, number, 'TCP' | 'UDP']> = [
          ['dns udp', dns, 53, 'UDP'], ['dns tcp', dns, 53, 'TCP'], ['redis', redis, 6379, 'TCP'], ['managed redis', managed, 6379, 'TCP'],
          ['sentinel', redis, 26379, 'TCP'], ['postgres', postgres, 5432, 'TCP'],
        ];
        for (const [what, to, toPort, protocol] of allowed) expect([what, go('analyzer', to, toPort, protocol)]).toEqual([what, true]);
        const refused: Array<[string, Destination, number]> = [
          ['gateway', from.gateway, 3000], ['query tcp', from.query, 4001], ['delivery tcp', { namespace: rampart, pod: podLabels('delivery') }, 4101],
          ['a provider over https', { external: 'provider.example.com' }, 443], ['http anywhere', managed, 80], ['redis cluster bus', redis, 16379],
          ['kubernetes api', { external: '10.0.0.1' }, 6443], ['postgres over udp', postgres, 5432],
        ];
        for (const [what, to, toPort] of refused) expect([what, go('analyzer', to, toPort, what.endsWith('udp') ? 'UDP' : 'TCP')]).toEqual([what, false]);
      });

      it('the other apps\' egress is not restricted (delivery calls the providers wherever they are)', () => {
        for (const app of ['gateway', 'query', 'delivery'] as const) expect([app, go(app, { external: 'provider.example.com' }, 443)]).toEqual([app, true]);
      });
    });

    it('gateway: its HTTP port is open to every source', () => {
      for (const source of Object.keys(from)) expect([source, can(source, 'gateway', 'http')]).toEqual([source, true]);
    });
  });
});
