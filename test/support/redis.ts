import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { parseRedisUrl } from '@app/platform';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** A Redis for tests: the one at REDIS_URL (default 127.0.0.1:6379) when it answers, else our own. */
export interface TestRedis {
  url: string;
  /** Stops the server if the test started it. */
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
  client.on('error', () => undefined); // not answering is an expected result here
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function useTestRedis(): Promise<TestRedis> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(url)) return { url, stop: async () => undefined };
  return startRedisServer();
}

/**
 * A spec file's Redis: one test Redis and client for the file, and a fresh key prefix for each test
 * (its keys deleted after it). Registers its own jest hooks, so call it at the top of a `describe`,
 * before hooks that use it; read `redis` and `keys` inside tests and hooks.
 */
export function redisPerTest(): { readonly redis: Redis; readonly keys: RedisKeys } {
  let testRedis: TestRedis;
  let redis: Redis;
  let keys: RedisKeys;
  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url);
  });
  beforeEach(() => {
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
  });
  afterEach(async () => deletePrefix(testRedis.url, keys.prefix));
  afterAll(async () => {
    redis.disconnect();
    await testRedis.stop();
  });
  return {
    get redis() {
      return redis;
    },
    get keys() {
      return keys;
    },
  };
}

/** Starts a private redis-server on a free port (fault tests restart it; `args` add e.g. AOF). */
export async function startRedisServer(opts: { dir?: string; port?: number; args?: string[] } = {}): Promise<TestRedis & { port: number; dir: string; child: ChildProcess }> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'rampart-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...(opts.args ?? [])], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(() => answers(url), { timeoutMs: 10_000, what: `redis-server on ${port}` });
  return {
    url, port, dir, child,
    // Also stops a server a test left SIGSTOPped (SIGCONT first), and one that ignores SIGTERM.
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Deletes every key of a test's prefix (on a cluster, on every master, keys one by one as they span
 * slots; through Sentinel, on the master it names).
 */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const endpoint = parseRedisUrl(url);
  if (endpoint.kind === 'cluster') {
    const cluster = new Cluster(endpoint.nodes, { lazyConnect: false, redisOptions: { maxRetriesPerRequest: 1 } });
    try {
      await new Promise<void>((resolve, reject) => {
        cluster.once('ready', resolve);
        cluster.once('error', reject);
      });
      for (const master of cluster.nodes('master')) {
        await deleteOn(master, prefix, (keys) => Promise.all(keys.map((k) => cluster.unlink(k))));
      }
    } finally {
      cluster.disconnect();
    }
    return;
  }
  const client =
    endpoint.kind === 'sentinel'
      ? new Redis({ sentinels: endpoint.sentinels, name: endpoint.masterName, db: endpoint.db, maxRetriesPerRequest: 1 })
      : new Redis(url);
  try {
    await deleteOn(client, prefix, (keys) => client.unlink(...keys));
  } finally {
    client.disconnect();
  }
}

async function deleteOn(node: Redis, prefix: string, unlink: (keys: string[]) => Promise<unknown>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await unlink(keys);
  } while (cursor !== '0');
}
