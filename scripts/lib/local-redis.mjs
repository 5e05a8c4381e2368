// Finds a Redis for `npm start`, or starts a local redis-server when there is none.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True when the Redis at `url` answers PING within `timeoutMs`. */
export async function pingRedis(url, timeoutMs = 1_000) {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // the failed PING below is the report
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** `{ maxmemory, policy }` of the Redis at `url` (CONFIG GET; undefined where CONFIG is disabled). */
export async function redisMemoryPolicy(url) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const [, maxmemory] = await redis.config('GET', 'maxmemory');
    const [, policy] = await redis.config('GET', 'maxmemory-policy');
    return { maxmemory: Number(maxmemory), policy };
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export function isLocalRedis(url) {
  return LOCAL_HOSTS.has(new URL(url).hostname);
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export const HOW_TO_GET_REDIS = [
  'Rampart needs Redis: set REDIS_URL to a running one, or install redis-server:',
  '  Debian/Ubuntu:  sudo apt-get install redis-server',
  '  macOS:          brew install redis',
  '  Docker:         docker run -p 6379:6379 redis:7',
].join('\n');

/**
 * Starts `redis-server` for `url` on 127.0.0.1 with its data in `dataDir` (append-only file, no RDB
 * snapshots), bounded by `maxmemory` with `maxmemory-policy noeviction` (full: writes are refused, nothing
 * is evicted), and resolves once it answers PING. The process is detached into its own group so that
 * Ctrl-C in the terminal reaches only start.mjs, which stops it last.
 * @returns {Promise<import('node:child_process').ChildProcess>}
 */
export async function startRedisServer(url, dataDir, { maxmemory = '256mb', timeoutMs = 10_000, onLine = () => undefined } = {}) {
  const port = new URL(url).port || '6379';
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', '', '--loglevel', 'warning',
      '--maxmemory', maxmemory, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (text) => text.split('\n').filter(Boolean).forEach(onLine));
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited at once (code ${child.exitCode}); is port ${port} taken by something else?`);
    if (await pingRedis(url, 500)) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
}
