import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisEndpoint } from './redis-url.js';

/** How a connection is used; decides its retry settings. */
export interface CreateRedisOptions {
  /**
   * For blocking commands and BullMQ (worker, queue): a command waits for the connection to come
   * back instead of failing after one retry (`maxRetriesPerRequest: null`, as BullMQ requires).
   * Default false: commands fail fast while Redis is down, so a request never waits unbounded.
   */
  isBlocking?: boolean;
  /**
   * ioredis auto-pipelining (a single server or Sentinel; never on a cluster): commands issued
   * while a batch is in flight wait and go out together in one write. Default on, except on
   * blocking connections. ioredis keeps one batch in flight per connection, so every command also
   * waits for the batch before it: that pays where many short requests share a busy process (the
   * gateway's rate-limit and existence checks: 2,967-2,983 claims/s through the gateway with it,
   * 2,878 without) and costs where each request makes several dependent calls (the delivery app
   * without it: direct claims 4,534 -> 5,400/s, queue deliveries 4,901 -> 5,793/s; `bench/README.md`).
   */
  autoPipelining?: boolean;
}

/**
 * One Redis connection with the settings Rampart relies on, for any `REDIS_URL` form
 * ({@link parseRedisUrl}): a single server, a Redis Cluster (ioredis `Cluster`) or a master found
 * through Sentinel. Commands fail fast while Redis is down (unless `isBlocking`), and the client
 * reconnects on its own forever.
 *
 * The return type is `Redis` for all three. An ioredis `Cluster` has the same command surface
 * (`RedisCommander`), `defineCommand`, pub/sub, `status`, `quit`/`disconnect`, which is all the apps
 * use; what a cluster does differently is documented in the README ("Scaling out"): every script
 * and pipeline stays within one hash slot, and no app scans keys.
 */
export function createRedis(url: string, name: string, opts: CreateRedisOptions = {}): Redis {
  const redis = connect(parseRedisUrl(url), name, opts);
  logConnectionChanges(redis, name);
  return redis;
}

const NODE_ERROR_LOG_INTERVAL_MS = 5_000;

const nodeAddress = (node: Redis) => `${node.options.host}:${node.options.port}`;

/**
 * Logs a connection's state changes, not every retry: `redis.down` with the first error after it
 * was ready, `redis.up` when it is ready again; on a cluster also each node that fails, joins or
 * leaves the client's pool (debug: what happens during a failover). Handling `error` also keeps ioredis
 * from printing its own "Unhandled error event" line for each reconnect attempt.
 */
function logConnectionChanges(redis: Redis, name: string): void {
  const logger = new Logger('redis');
  let isUp = false;
  redis.on('ready', () => {
    if (!isUp) logger.log({ event: 'redis.up', connection: name });
    isUp = true;
  });
  redis.on('error', (err: Error) => {
    if (isUp) logger.warn({ event: 'redis.down', connection: name, error: err.message });
    isUp = false;
  });
  if (redis instanceof Cluster) {
    const cluster = redis as Cluster;
    // While a node is down every retry fails; one line per node every few seconds is enough.
    const lastErrorLogged = new Map<string, number>();
    cluster.on('node error', (err: Error, address: string) => {
      const now = Date.now();
      if (now - (lastErrorLogged.get(address) ?? 0) < NODE_ERROR_LOG_INTERVAL_MS) return;
      lastErrorLogged.set(address, now);
      logger.warn({ event: 'redis.node_error', connection: name, node: address, error: err.message });
    });
    cluster.on('+node', (node: Redis) => logger.debug({ event: 'redis.node_added', connection: name, node: nodeAddress(node) }));
    cluster.on('-node', (node: Redis) => logger.debug({ event: 'redis.node_removed', connection: name, node: nodeAddress(node) }));
  }
}

const RETRY = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

function nodeOptions(name: string, opts: CreateRedisOptions): RedisOptions {
  return {
    connectionName: name,
    maxRetriesPerRequest: opts.isBlocking ? null : 1,
    connectTimeout: 2_000,
  };
}

function connect(endpoint: RedisEndpoint, name: string, opts: CreateRedisOptions): Redis {
  switch (endpoint.kind) {
    case 'single':
      return new Redis(endpoint.url, {
        ...nodeOptions(name, opts),
        enableOfflineQueue: true,
        retryStrategy: RETRY,
        lazyConnect: false,
        // Not on blocking connections: a command queued behind BZPOPMIN would wait for it.
        enableAutoPipelining: opts.autoPipelining ?? !opts.isBlocking,
      });
    case 'sentinel':
      return new Redis({
        ...nodeOptions(name, opts),
        sentinels: endpoint.sentinels,
        name: endpoint.masterName,
        role: 'master',
        db: endpoint.db,
        username: endpoint.username,
        password: endpoint.password,
        sentinelPassword: endpoint.sentinelPassword,
        ...(endpoint.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        enableOfflineQueue: true,
        retryStrategy: RETRY,
        // After a failover the old master turns replica; READONLY errors make the client find the new one.
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
        enableAutoPipelining: opts.autoPipelining ?? !opts.isBlocking,
      });
    case 'cluster':
      return new Cluster(endpoint.nodes, clusterOptions(endpoint, name, opts)) as unknown as Redis;
  }
}

/**
 * Cluster settings sized for a failover: a node that disappears is retried every
 * `retryDelayOnFailover` ms up to `maxRedirections` times (about 4 s, longer than a replica
 * needs to take over with `cluster-node-timeout` 2000), and `CLUSTERDOWN` likewise, so a claim in
 * flight during a failover usually completes instead of failing. The slot map is refreshed every 5 s
 * as well as on every MOVED.
 */
export function clusterOptions(endpoint: Extract<RedisEndpoint, { kind: 'cluster' }>, name: string, opts: CreateRedisOptions = {}): ClusterOptions {
  return {
    redisOptions: {
      ...nodeOptions(name, opts),
      username: endpoint.username,
      password: endpoint.password,
      ...(endpoint.tls ? { tls: {} } : {}),
    },
    enableOfflineQueue: true,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 20,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    slotsRefreshInterval: 5_000,
    clusterRetryStrategy: RETRY,
    // No auto-pipelining on a cluster: ioredis batches commands of different slots per node and
    // handles a MOVED/ASK for the batch as a whole, so while slots migrate (resharding, adding a
    // master) callers would get the raw redirections (ioredis issue #2075, open). Each command on
    // its own follows MOVED and ASK correctly.
    enableAutoPipelining: false,
  };
}

/**
 * Closes a connection, waiting (at most `graceMs`) for in-flight replies, so a hung server cannot
 * hold up shutdown; safe to call twice.
 */
export async function closeRedis(redis: Redis, graceMs = 1_000): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  try {
    await Promise.race([redis.quit(), timedOut]);
  } catch {
    // closing anyway
  } finally {
    clearTimeout(timer);
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}
