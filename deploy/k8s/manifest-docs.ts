import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Helpers of the offline manifest checks (manifests.spec.ts, examples/examples.spec.ts): loading the
 * YAML documents of a folder, the schema check, and a small NetworkPolicy evaluator.
 */
export type Doc = Record<string, any>;
export type Loaded = { file: string; doc: Doc };

/** Every YAML document of the `.yaml` files directly in `dir` (not its subfolders). */
export function loadDir(dir: string): { files: string[]; docs: Loaded[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  const docs = files
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
        return { file, doc: d.toJS() as Doc };
      }),
    )
    .filter(({ doc }) => doc);
  return { files, docs };
}

export type SchemaResult = { file: string; kind: string; name: string | null; schema: string | null; error: string | null };

/**
 * Validates documents against the Kubernetes API's OpenAPI schemas (kubernetes-models) and KEDA's
 * CRD schemas, offline, in a child process (schema-check.mjs: the validators are ESM-only).
 */
export function schemaCheck(docs: Loaded[]): SchemaResult[] {
  const run = spawnSync(process.execPath, [join(__dirname, 'schema-check.mjs')], { input: JSON.stringify(docs), encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) throw new Error(`schema-check.mjs exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as SchemaResult[];
}

/** A peer of a connection, for {@link admits}: its namespace's labels and its pod's labels. */
export type Peer = { namespace: Record<string, string>; pod: Record<string, string> };

const matches = (selector: Doc | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && !selector?.matchExpressions;

/**
 * Whether the NetworkPolicies of `namespace` admit a TCP connection from `source` to `port` of a pod
 * with `podLabels` whose container declares `containerPorts`. Follows the API's semantics for what
 * these manifests use: a pod no policy selects admits everything; otherwise the union of the
 * selecting policies' rules; a rule with no `from` admits every source, with no `ports` every port;
 * `podSelector` alone means the policy's namespace; ports by number or by container port name.
 * (matchExpressions and ipBlock are not used here; a selector with matchExpressions matches nothing.)
 */
export function admits(policies: Doc[], namespace: string, podLabels: Record<string, string>, containerPorts: Doc[], source: Peer, port: number): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === namespace && matches(p.spec.podSelector, podLabels) && (p.spec.policyTypes ?? ['Ingress']).includes('Ingress'));
  if (!selecting.length) return true;
  const portMatches = (rulePorts: Doc[] | undefined) =>
    !rulePorts?.length ||
    rulePorts.some((rp) => (rp.protocol ?? 'TCP') === 'TCP' && (rp.port === undefined || rp.port === port || containerPorts.some((cp) => cp.name === rp.port && cp.containerPort === port)));
  const peerMatches = (peer: Doc) => {
    const inNamespace = peer.namespaceSelector ? matches(peer.namespaceSelector, source.namespace) : source.namespace['kubernetes.io/metadata.name'] === namespace;
    return inNamespace && (peer.podSelector ? matches(peer.podSelector, source.pod) : true);
  };
  return selecting.some((p) => (p.spec.ingress ?? []).some((rule: Doc) => portMatches(rule.ports) && (!rule.from?.length || rule.from.some(peerMatches))));
}

/** Where a connection goes, for {@link egressAdmits}: a pod (its namespace's and its own labels) or an address outside the cluster. */
export type Destination = Peer | { external: string };

/**
 * Whether the NetworkPolicies of `namespace` let a pod with `podLabels` open a connection to
 * `destination` on `port`/`protocol`: the egress side of {@link admits}. A pod no Egress policy
 * selects may connect anywhere; otherwise the union of the selecting policies' rules; a rule with no
 * `to` admits every destination, with no `ports` every port (by number: named ports are not used in
 * egress here). An external address matches no pod selector (ipBlock is not used here, so it
 * matches nothing either).
 */
export function egressAdmits(policies: Doc[], namespace: string, podLabels: Record<string, string>, destination: Destination, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === namespace && matches(p.spec.podSelector, podLabels) && (p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'])).includes('Egress'));
  if (!selecting.length) return true;
  const portMatches = (rulePorts: Doc[] | undefined) =>
    !rulePorts?.length || rulePorts.some((rp) => (rp.protocol ?? 'TCP') === protocol && (rp.port === undefined || rp.port === port));
  const peerMatches = (peer: Doc) => {
    if ('external' in destination) return false;
    const inNamespace = peer.namespaceSelector ? matches(peer.namespaceSelector, destination.namespace) : destination.namespace['kubernetes.io/metadata.name'] === namespace;
    return inNamespace && (peer.podSelector ? matches(peer.podSelector, destination.pod) : true);
  };
  return selecting.some((p) => (p.spec.egress ?? []).some((rule: Doc) => portMatches(rule.ports) && (!rule.to?.length || rule.to.some(peerMatches))));
}
