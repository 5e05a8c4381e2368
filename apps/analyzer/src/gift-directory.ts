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

/**
 * Gift → activity and provider, read from the gift's hash and cached for `ttlMs` (a re-publish may
 * move a gift to another provider: its events count under the new one within `ttlMs`).
 */
export class GiftDirectory {
  private readonly cache = new Map<string, { place: GiftPlace; until: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlMs = 10_000,
  ) {}

  /** The places of these gifts, reading those not cached in one pipeline. */
  async places(giftIds: Iterable<string>, nowMs = Date.now()): Promise<Map<string, GiftPlace>> {
    const out = new Map<string, GiftPlace>();
    const missing: string[] = [];
    for (const giftId of new Set(giftIds)) {
      const hit = this.cache.get(giftId);
      if (hit && hit.until > nowMs) out.set(giftId, hit.place);
      else missing.push(giftId);
    }
    if (missing.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const giftId of missing) pipeline.hmget(this.keys.gift(giftId), 'activityId', 'providerUrl');
      const replies = (await pipeline.exec()) ?? [];
      missing.forEach((giftId, i) => {
        const [err, value] = replies[i] ?? [];
        if (err) throw err;
        const [activityId, providerUrl] = (value as Array<string | null>) ?? [];
        const place = activityId ? { activityId, provider: providerOrigin(providerUrl) } : UNKNOWN_PLACE;
        this.cache.set(giftId, { place, until: nowMs + this.ttlMs });
        out.set(giftId, place);
      });
      if (this.cache.size > 100_000) this.cache.clear();
    }
    return out;
  }
}

/** `https://p.example:8443/deliver?key=x` → `https://p.example:8443` (never a path or query, which may hold secrets). */
export function providerOrigin(url: string | null | undefined): string {
  if (!url || !URL.canParse(url)) return 'unknown';
  return new URL(url).origin;
}

/**
 * Each activity's success objective (`successObjective` of its configuration), read from its hash
 * and cached for `ttlMs`; `fallback` (ANALYZER_OBJECTIVE) where none is set.
 */
export class ActivityObjectives {
  private readonly cache = new Map<string, { objective: number; until: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly fallback: number,
    private readonly ttlMs = 10_000,
  ) {}

  async of(activityIds: Iterable<string>, nowMs = Date.now()): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const id of activityIds) {
      const hit = this.cache.get(id);
      if (hit && hit.until > nowMs) out.set(id, hit.objective);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const id of missing) pipeline.hget(this.keys.activity(id), 'successObjective');
      const replies = (await pipeline.exec()) ?? [];
      missing.forEach((id, i) => {
        const [err, value] = replies[i] ?? [];
        if (err) throw err;
        const parsed = Number(value);
        const objective = value && parsed >= 0.5 && parsed < 1 ? parsed : this.fallback;
        this.cache.set(id, { objective, until: nowMs + this.ttlMs });
        out.set(id, objective);
      });
      if (this.cache.size > 100_000) this.cache.clear();
    }
    return out;
  }
}
