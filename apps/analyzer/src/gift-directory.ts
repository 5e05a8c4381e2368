import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';

/** What the analyzer needs of a gift to count its events: its activity and its provider. */
export interface GiftPlace {
  activityId: string;
  /** The provider URL's origin (scheme, host, port): a bounded, secret-free dimension. */
  provider: string;
}

/** Dimension values of a gift Redis no longer (or never) knew. */
export const UNKNOWN_PLACE: GiftPlace = Object.freeze({ activityId: 'unknown', provider: 'unknown' });

/** Most entries a {@link TtlLookup} keeps before it starts over. */
const MAX_CACHED = 100_000;

/**
 * Values by id read from Redis in one pipeline for the ids not cached, each kept `ttlMs` (a
 * re-publish may change it: the new value counts within `ttlMs`).
 */
class TtlLookup<V> {
  private readonly cache = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly redis: Redis,
    /** Queues the read of one id on the pipeline. */
    private readonly read: (pipeline: ReturnType<Redis['pipeline']>, id: string) => void,
    /** The value of one id from its reply. */
    private readonly parse: (reply: unknown) => V,
    private readonly ttlMs: number,
  ) {}

  async of(ids: Iterable<string>, nowMs = Date.now()): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.cache.get(id);
      if (hit && hit.until > nowMs) out.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of missing) this.read(pipeline, id);
    const replies = (await pipeline.exec()) ?? [];
    if (this.cache.size > MAX_CACHED) this.cache.clear();
    missing.forEach((id, i) => {
      const [err, reply] = replies[i] ?? [];
      if (err) throw err;
      const value = this.parse(reply);
      this.cache.set(id, { value, until: nowMs + this.ttlMs });
      out.set(id, value);
    });
    return out;
  }
}

/** Gift → activity and provider, from the gift's hash (cached 10 s). */
export class GiftDirectory {
  private readonly lookup: TtlLookup<GiftPlace>;

  constructor(redis: Redis, keys: RedisKeys, ttlMs = 10_000) {
    this.lookup = new TtlLookup(
      redis,
      (pipeline, giftId) => pipeline.hmget(keys.gift(giftId), 'activityId', 'providerUrl'),
      (reply) => {
        const [activityId, providerUrl] = (reply as Array<string | null>) ?? [];
        return activityId ? { activityId, provider: providerOrigin(providerUrl) } : UNKNOWN_PLACE;
      },
      ttlMs,
    );
  }

  places(giftIds: Iterable<string>, nowMs?: number): Promise<Map<string, GiftPlace>> {
    return this.lookup.of(giftIds, nowMs);
  }
}

/**
 * Each activity's success objective (`successObjective` of its configuration), from its hash
 * (cached 10 s); `fallback` (ANALYZER_OBJECTIVE) where none is set.
 */
export class ActivityObjectives {
  private readonly lookup: TtlLookup<number>;

  constructor(redis: Redis, keys: RedisKeys, fallback: number, ttlMs = 10_000) {
    this.lookup = new TtlLookup(
      redis,
      (pipeline, activityId) => pipeline.hget(keys.activity(activityId), 'successObjective'),
      (reply) => {
        const objective = Number(reply);
        return reply && objective >= 0.5 && objective < 1 ? objective : fallback;
      },
      ttlMs,
    );
  }

  of(activityIds: Iterable<string>, nowMs?: number): Promise<Map<string, number>> {
    return this.lookup.of(activityIds, nowMs);
  }
}

/** `https://p.example:8443/deliver?key=x` → `https://p.example:8443` (never a path or query, which may hold secrets). */
export function providerOrigin(url: string | null | undefined): string {
  if (!url || !URL.canParse(url)) return 'unknown';
  return new URL(url).origin;
}
