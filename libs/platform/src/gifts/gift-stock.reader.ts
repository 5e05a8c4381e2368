import type { Redis } from 'ioredis';
import { type GiftRecord, giftBuckets, parseGiftRecord, type RedisKeys } from '@app/contracts';

/** A gift's record with what its claims consumed, and what was reserved on `day`. */
export interface GiftStock {
  record: GiftRecord;
  reservedToday: number;
}

/**
 * Reads a gift as its readers see it: a split gift's own hash holds its configuration and total
 * inventory, its buckets what was reserved and delivered, which are added up here (one command per
 * bucket, sent together). Undefined for an unknown gift.
 */
export async function readGiftStock(redis: Redis, keys: RedisKeys, giftId: string, day: string): Promise<GiftStock | undefined> {
  const [hash, today] = await Promise.all([redis.hgetall(keys.gift(giftId)), redis.get(keys.giftDay(giftId, day))]);
  const record = parseGiftRecord(hash);
  if (!record) return undefined;
  if (record.buckets <= 1) return { record, reservedToday: Number(today ?? 0) };
  const ids = giftBuckets.ids(giftId, record.buckets);
  const [counts, days] = await Promise.all([
    Promise.all(ids.map((id) => redis.hmget(keys.gift(id), 'reserved', 'delivered'))),
    Promise.all(ids.map((id) => redis.get(keys.giftDay(id, day)))),
  ]);
  const sum = (values: Array<string | null>): number => values.reduce((total, v) => total + Number(v ?? 0), 0);
  return {
    record: { ...record, reserved: sum(counts.map((c) => c[0])), delivered: sum(counts.map((c) => c[1])) },
    reservedToday: sum(days),
  };
}

/** The stored ids of a gift: itself, and its buckets' when it is split (see `giftBuckets`). */
export async function readStoredGiftIds(redis: Redis, keys: RedisKeys, giftId: string): Promise<readonly string[]> {
  const count = Number((await redis.hget(keys.gift(giftId), 'buckets')) ?? 1);
  return count > 1 ? [giftId, ...giftBuckets.ids(giftId, count)] : [giftId];
}
