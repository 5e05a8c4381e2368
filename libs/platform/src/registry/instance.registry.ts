import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';

// Both scripts take the time from the Redis server, so registrants and readers on machines with
// skewed clocks agree on when a registration lapses.

/** KEYS[1] registry set; ARGV[1] address, ARGV[2] ttl ms. Returns the lapse time (ms). Idempotent. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapse = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], lapse, ARGV[1])
return lapse`;

/** KEYS[1] registry set. Drops lapsed members, returns the live addresses. */
const LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`;

/** Events a registration reports, for the app's logger. */
export interface RegistrationEvents {
  log(event: Record<string, unknown>): void;
  warn(event: Record<string, unknown>): void;
}

/**
 * Self-registration of one service instance in Redis, so gateways find it without a restart:
 * a heartbeat every third of the TTL renews its entry; an instance that stops heartbeating (killed,
 * hung, partitioned) lapses after the TTL. `stop()` removes it at once and is safe to call twice.
 * Redis being down never stops the instance: the heartbeat logs one warning and keeps trying.
 */
export class InstanceRegistration {
  private timer?: NodeJS.Timeout;
  private isFailing = false;
  private isStopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly service: string,
    readonly address: string,
    readonly ttlMs: number,
    private readonly events: RegistrationEvents,
    /** The release this instance runs (`RELEASE`), written beside its registration. Default `stable`. */
    readonly release = 'stable',
  ) {}

  /** Registers now and starts the heartbeat. */
  async start(): Promise<void> {
    await this.beat();
    this.events.log({ event: 'registry.registered', service: this.service, address: this.address, ttlMs: this.ttlMs });
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops the heartbeat and removes the entry (best effort). */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    clearInterval(this.timer);
    try {
      await this.redis.zrem(this.keys.registry(this.service), this.address);
      await this.redis.hdel(this.keys.registryReleases(this.service), this.address);
      this.events.log({ event: 'registry.deregistered', service: this.service, address: this.address });
    } catch (err) {
      this.events.warn({ event: 'registry.deregister-failed', service: this.service, address: this.address, error: String(err) });
    }
  }

  private async beat(): Promise<void> {
    if (this.isStopped) return;
    try {
      await this.redis.eval(HEARTBEAT, 1, this.keys.registry(this.service), this.address, String(this.ttlMs));
      // A separate key (not in the script), so the script keeps one key; the release of a process never
      // changes, and a reader only trusts it for addresses the registry lists as live.
      await this.redis.hset(this.keys.registryReleases(this.service), this.address, this.release);
      if (this.isFailing) this.events.log({ event: 'registry.heartbeat-restored', service: this.service, address: this.address });
      this.isFailing = false;
    } catch (err) {
      if (!this.isFailing) this.events.warn({ event: 'registry.heartbeat-failed', service: this.service, address: this.address, error: String(err) });
      this.isFailing = true;
    }
  }
}

/** The addresses of the instances of `service` whose registration has not lapsed (drops lapsed ones). */
export async function liveInstances(redis: Redis, keys: RedisKeys, service: string): Promise<string[]> {
  const live = (await redis.eval(LIVE, 1, keys.registry(service))) as string[];
  return live;
}

/**
 * The release of each live instance of `service` (`host:port` -> release) for the addresses given;
 * entries of addresses that are no longer live are deleted, so the hash stays as small as the registry.
 */
export async function instanceReleases(redis: Redis, keys: RedisKeys, service: string, live: readonly string[]): Promise<Map<string, string>> {
  const all = await redis.hgetall(keys.registryReleases(service));
  const isLive = new Set(live);
  const stale = Object.keys(all).filter((address) => !isLive.has(address));
  if (stale.length) await redis.hdel(keys.registryReleases(service), ...stale);
  return new Map(Object.entries(all).filter(([address]) => isLive.has(address)));
}
