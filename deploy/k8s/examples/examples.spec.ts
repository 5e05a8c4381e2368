import { join } from 'node:path';
import { RedisKeys } from '@app/contracts';
import { parseRedisUrl } from '@app/platform';
import { DELIVERY_QUEUE } from '../../../apps/delivery/src/queue/delivery.queue';
import { admits, loadDir, schemaCheck, type Doc } from '../manifest-docs';

// Offline checks of deploy/k8s/examples: references that need CRDs (KEDA, the Redis operator,
// CloudNativePG) and so are not applied with the base. Kinds with a schema here (KEDA's, the
// Kubernetes API's) are validated; the operators' resources are checked for the settings Rampart
// depends on.
const { files, docs } = loadDir(__dirname);
const base = loadDir(join(__dirname, '..'));
const find = (set: { docs: Array<{ doc: Doc }> }, kind: string, name?: string) =>
  set.docs.map(({ doc }) => doc).find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
const config = () => find(base, 'ConfigMap', 'rampart-config')!.data as Record<string, string>;

describe('deploy/k8s/examples', () => {
  it('are not part of the kustomization (their CRDs may be absent), and all live in the namespace rampart', () => {
    const kustomization = find(base, 'Kustomization')!;
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const resource of kustomization.resources) expect(resource).not.toMatch(/examples/);
    for (const { doc } of docs) expect(doc.metadata.namespace).toBe('rampart');
  });

  it('are valid against the KEDA and Kubernetes schemas where one is known here (offline); only the operators\' resources are not', () => {
    const results = schemaCheck(docs);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.filter((r) => !r.schema).map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['Cluster/rampart-pg', 'RedisCluster/rampart-redis']);
  });

  describe('KEDA ScaledObject for delivery', () => {
    const scaled = () => find({ docs }, 'ScaledObject', 'delivery')!;
    const trigger = () => scaled().spec.triggers[0];

    it('scales the delivery Deployment, never below its replicas, and delivery has no HPA of its own', () => {
      const delivery = find(base, 'Deployment', 'delivery')!;
      expect(scaled().spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'delivery' });
      expect(scaled().spec.minReplicaCount).toBeGreaterThanOrEqual(delivery.spec.replicas);
      expect(scaled().spec.maxReplicaCount).toBeGreaterThan(scaled().spec.minReplicaCount);
      expect(find(base, 'HorizontalPodAutoscaler', 'delivery')).toBeUndefined();
    });

    it('reads the length of BullMQ\'s wait list of the delivery queue under the deployment\'s REDIS_PREFIX', () => {
      const listName = `${new RedisKeys(config().REDIS_PREFIX).queuePrefix()}:${DELIVERY_QUEUE}:wait`;
      expect(listName).toBe('rp:{queue}:delivery:wait');
      expect(trigger().metadata.listName).toBe(listName);
      expect(Number(trigger().metadata.listLength)).toBeGreaterThan(0);
    });

    it('talks to the same Redis as the apps: a cluster trigger for a cluster REDIS_URL, with its seeds', () => {
      const url = parseRedisUrl(config().REDIS_URL);
      expect(url.kind).toBe('cluster');
      expect(trigger().type).toBe('redis-cluster');
      const seeds = (url as Extract<typeof url, { kind: 'cluster' }>).nodes.map((n) => `${n.host}:${n.port}`);
      expect(trigger().metadata.addresses.split(',')).toEqual(seeds);
      const auth = find({ docs }, 'TriggerAuthentication', trigger().authenticationRef.name)!;
      expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'rampart-redis', key: 'password' }]);
    });
  });

  describe('Redis (OT-CONTAINER-KIT redis-operator RedisCluster)', () => {
    const redis = () => find({ docs }, 'RedisCluster', 'rampart-redis')!;
    const redisConf = () => {
      const name = redis().spec.redisLeader.redisConfig.additionalRedisConfig;
      const text = find({ docs }, 'ConfigMap', name)!.data['redis-additional.conf'] as string;
      return Object.fromEntries(text.trim().split('\n').map((line) => line.trim().split(/\s+/, 2)));
    };

    it('persists with AOF and never evicts keys, on masters and replicas alike', () => {
      expect(redis().apiVersion).toBe('redis.redis.opstreelabs.in/v1beta2');
      expect(redis().spec.persistenceEnabled).toBe(true);
      expect(redisConf()).toMatchObject({ appendonly: 'yes', 'maxmemory-policy': 'noeviction' });
      expect(redis().spec.redisFollower.redisConfig).toEqual(redis().spec.redisLeader.redisConfig);
      expect(redis().spec.storage.volumeClaimTemplate.spec.resources.requests.storage).toMatch(/^\d+Gi$/);
    });

    it('has at least 3 masters, each with a replica, and maxmemory below the memory limit', () => {
      const spec = redis().spec;
      expect(spec.clusterSize).toBeGreaterThanOrEqual(3);
      expect(spec.redisFollower.replicas).toBeGreaterThanOrEqual(spec.redisLeader.replicas);
      const maxmemoryMb = Number(/^(\d+)mb$/.exec(redisConf().maxmemory)![1]);
      const limitMb = Number(/^(\d+)Gi$/.exec(spec.kubernetesConfig.resources.limits.memory)![1]) * 1024;
      expect(maxmemoryMb).toBeLessThan(limitMb);
    });

    it('runs as non-root with privilege escalation off and capabilities dropped (the namespace is "restricted")', () => {
      const spec = redis().spec;
      expect(spec.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const role of [spec.redisLeader, spec.redisFollower]) expect(role.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    });
  });

  describe('PostgreSQL (CloudNativePG Cluster)', () => {
    const pg = () => find({ docs }, 'Cluster', 'rampart-pg')!;

    it('has a primary and replicas with synchronous replication to at least one, spread over zones', () => {
      expect(pg().apiVersion).toBe('postgresql.cnpg.io/v1');
      expect(pg().spec.instances).toBeGreaterThanOrEqual(3);
      expect(pg().spec.postgresql.synchronous.number).toBeGreaterThanOrEqual(1);
      expect(pg().spec.affinity).toMatchObject({ enablePodAntiAffinity: true, topologyKey: 'topology.kubernetes.io/zone' });
      expect(pg().spec.enableSuperuserAccess).toBe(false);
    });
  });

  it('admit the apps to Redis and PostgreSQL through the namespace\'s default deny, and no one else', () => {
    const policies = [...base.docs, ...docs].map(({ doc }) => doc).filter((d) => d.kind === 'NetworkPolicy');
    const rampart = { 'kubernetes.io/metadata.name': 'rampart' };
    const delivery = { namespace: rampart, pod: find(base, 'Deployment', 'delivery')!.spec.template.metadata.labels };
    const stranger = { namespace: { 'kubernetes.io/metadata.name': 'shop' }, pod: { app: 'x' } };
    const keda = { namespace: { 'kubernetes.io/metadata.name': 'keda' }, pod: { app: 'keda-operator' } };
    const redisPod = { app: 'rampart-redis-leader', redis_setup_type: 'cluster', role: 'leader' };
    const pgPod = { 'cnpg.io/cluster': 'rampart-pg' };
    expect(admits(policies, 'rampart', redisPod, [], delivery, 6379)).toBe(true);
    expect(admits(policies, 'rampart', redisPod, [], keda, 6379)).toBe(true);
    expect(admits(policies, 'rampart', redisPod, [], stranger, 6379)).toBe(false);
    expect(admits(policies, 'rampart', redisPod, [], delivery, 16379)).toBe(false);
    expect(admits(policies, 'rampart', redisPod, [], { namespace: rampart, pod: redisPod }, 16379)).toBe(true);
    expect(admits(policies, 'rampart', pgPod, [], delivery, 5432)).toBe(true);
    expect(admits(policies, 'rampart', pgPod, [], stranger, 5432)).toBe(false);
  });
});
