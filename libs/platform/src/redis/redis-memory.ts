import { Cluster, type Redis } from 'ioredis';

/** One Redis server's memory as `INFO memory` reports it. */
export interface RedisMemory {
  /** `host:port` of the server (each master of a cluster is one). */
  node: string;
  /** `used_memory`: bytes the allocator holds for data and overhead (what `maxmemory` is compared with). */
  usedBytes: number;
  /** `maxmemory`; 0 means no limit (Redis grows until the machine or the container kills it). */
  maxBytes: number;
  /** `maxmemory_policy`; Rampart needs `noeviction` (an evicted idempotency record or counter is a double delivery or an oversell). */
  policy: string;
}

/** Reads `used_memory`, `maxmemory` and `maxmemory_policy` out of an `INFO memory` answer. */
export function parseRedisMemory(node: string, info: string): RedisMemory {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const usedBytes = Number(field('used_memory'));
  const maxBytes = Number(field('maxmemory') ?? 0);
  if (!Number.isFinite(usedBytes) || !Number.isFinite(maxBytes)) throw new Error(`INFO memory of ${node} has no used_memory/maxmemory`);
  return { node, usedBytes, maxBytes, policy: field('maxmemory_policy') ?? 'unknown' };
}

/**
 * The share of `maxmemory` still free (0 to 1): 0 means full, so writes are refused (with noeviction:
 * claims answer 503). Undefined when no limit is set: then there is no headroom to speak of.
 */
export function memoryHeadroomRatio(memory: RedisMemory): number | undefined {
  if (memory.maxBytes <= 0) return undefined;
  return Math.max(0, 1 - memory.usedBytes / memory.maxBytes);
}

/**
 * `INFO memory` of the server behind `redis`, or of every master of a cluster. A server that does not
 * answer within `timeoutMs` is left out (a scrape must not hang on a Redis that is down).
 */
export async function readRedisMemory(redis: Redis, timeoutMs = 1_000): Promise<RedisMemory[]> {
  const servers: Redis[] = redis instanceof Cluster ? (redis as Cluster).nodes('master') : [redis];
  const read = async (server: Redis): Promise<RedisMemory | undefined> => {
    const node = `${server.options.host ?? '127.0.0.1'}:${server.options.port ?? 6379}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const info = await Promise.race([server.info('memory'), timeout]);
      return info === undefined ? undefined : parseRedisMemory(node, info);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  return (await Promise.all(servers.map(read))).filter((m): m is RedisMemory => m !== undefined);
}
