import { Redis } from 'ioredis';

/**
 * One ioredis connection with the settings Rampart relies on: commands fail fast while Redis is
 * down (no unbounded offline queue per request), and the client reconnects on its own forever.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: false,
    // Commands issued in the same tick by concurrent requests go out in one write (fewer syscalls).
    enableAutoPipelining: true,
  });
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
