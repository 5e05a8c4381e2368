import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type ActivityConfig, type GiftConfig, giftBuckets, parseGiftRecord, RedisKeys, toStoredActivityConfig } from '@app/contracts';
import { readStoredGiftIds } from '@app/platform';
import { DELIVERY_REDIS } from '../lifecycle/delivery-redis.js';
import prelude from '../lifecycle/lua/prelude.lua';
import { SoldOutLatchWriter } from '../lifecycle/sold-out-latch.writer.js';

/**
 * Stores one gift's configuration, keeping what was consumed (`reserved`), and keeps its sold-out
 * latch right (see prelude.lua): inventory above what is reserved re-arms (clears) the latch; a
 * gift that is (still, or now) sold out gets a new latch sequence number to build for, so the
 * latch carries the new window.
 * KEYS[1] gift hash ({g:giftId})  KEYS[2] the gift's sold-out latch
 * ARGV activityId, name, inventory, dailyLimit, perUserLimit, delivery, providerUrl, orderNumbers, startsAtMs, endsAtMs,
 * sold-out channel, giftId, buckets
 * Returns {'ok', latchSeq} (latchSeq '0' or the sequence number of a latch to build); {'owned',
 * otherActivityId} when another activity owns the gift; {'below', reserved} when the inventory is
 * lower than what is already reserved (for a split gift: handed to its buckets, `allotted`);
 * {'buckets', stored} when the bucket count differs from the published one; {'retired', atMs} when
 * retention retired the gift (its orders left Redis for the archive). Nothing is written unless 'ok'.
 * A split gift's own hash is never claimed from (its buckets are), so its latch never arms but for
 * an inventory of 0.
 */
const UPSERT_GIFT = `${prelude}

local current = redis.call('HMGET', KEYS[1], 'activityId', 'reserved', 'retiredAtMs', 'buckets', 'allotted')
if current[3] then return {'retired', current[3]} end
if current[1] and current[1] ~= ARGV[1] then return {'owned', current[1]} end
if current[1] and (current[4] or '1') ~= ARGV[13] then return {'buckets', current[4] or '1'} end
local used = math.max(tonumber(current[2] or '0'), tonumber(current[5] or '0'))
if tonumber(ARGV[3]) < used then return {'below', tostring(used)} end
redis.call('HSET', KEYS[1], 'activityId', ARGV[1], 'name', ARGV[2], 'inventory', ARGV[3], 'dailyLimit', ARGV[4],
  'perUserLimit', ARGV[5], 'delivery', ARGV[6], 'providerUrl', ARGV[7], 'orderNumbers', ARGV[8],
  'startsAtMs', ARGV[9], 'endsAtMs', ARGV[10], 'buckets', ARGV[13])
if ARGV[13] ~= '1' and not current[5] then redis.call('HSET', KEYS[1], 'allotted', 0) end
if not current[2] then redis.call('HSET', KEYS[1], 'reserved', 0) end
if clear_sold_out(KEYS[1], KEYS[2], ARGV[11], ARGV[12]) == 1 then return {'ok', '0'} end
if tonumber(ARGV[3]) > tonumber(current[2] or '0') then return {'ok', '0'} end
if redis.call('HGET', KEYS[1], 'soldOut') == '1' then
  -- Still sold out: rebuild the latch for the new configuration (window).
  redis.call('HSET', KEYS[1], 'soldOut', '0')
  redis.call('HINCRBY', KEYS[1], 'latchSeq', 1)
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[11], 'cleared|' .. ARGV[12])
end
return {'ok', tostring(mark_sold_out(KEYS[1], KEYS[2]))}
`;

/**
 * Stores one bucket of a split gift: the gift's configuration with its share of the daily limit
 * (ARGV[3]) and the gift it belongs to (\`bucketOf\`); its inventory starts at 0 and only the
 * rebalancer changes it. KEYS[1] bucket hash  ARGV activityId, name, dailyLimit, perUserLimit,
 * delivery, providerUrl, orderNumbers, startsAtMs, endsAtMs, giftId. Returns 0 for a retired bucket.
 */
const UPSERT_BUCKET = `
local current = redis.call('HMGET', KEYS[1], 'activityId', 'retiredAtMs')
if current[2] then return 0 end
redis.call('HSET', KEYS[1], 'activityId', ARGV[1], 'name', ARGV[2], 'dailyLimit', ARGV[3], 'perUserLimit', ARGV[4],
  'delivery', ARGV[5], 'providerUrl', ARGV[6], 'orderNumbers', ARGV[7], 'startsAtMs', ARGV[8], 'endsAtMs', ARGV[9],
  'bucketOf', ARGV[10])
if not current[1] then redis.call('HSET', KEYS[1], 'inventory', 0, 'reserved', 0) end
return 1
`;

/**
 * Closes a gift dropped from its activity (window end 0: NOT_ACTIVE comes before SOLD_OUT), and
 * drops its sold-out latch. KEYS[1] gift hash  KEYS[2] latch  ARGV[1] channel  ARGV[2] giftId  ARGV[3] closedAtMs (for retention).
 */
const CLOSE_GIFT = `
redis.call('HSET', KEYS[1], 'endsAtMs', 0, 'closedAtMs', ARGV[3])
if redis.call('HGET', KEYS[1], 'soldOut') == '1' then
  redis.call('HSET', KEYS[1], 'soldOut', '0')
  redis.call('HINCRBY', KEYS[1], 'latchSeq', 1)
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', ARGV[1], 'cleared|' .. ARGV[2])
end
return 1
`;

/** Releases the publish lock only if this caller still holds it. KEYS[1] lock; ARGV token. */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface GiftOwnership {
  activityId?: string;
  /** Units reserved (a split gift's: in all its buckets): the inventory may not go below. */
  reserved: number;
  /** A split gift's units handed to its buckets (reserved or on hand there); else `reserved`. */
  handedOut: number;
  /** Buckets it was published with (1: not split). */
  buckets: number;
  /** Retention retired it: its per-user counts left Redis, so it can never be claimable again. */
  retired: boolean;
}

interface ActivityCommands {
  rpUpsertGift(key: string, ...argv: (string | number)[]): Promise<string[]>;
  rpUnlock(key: string, token: string): Promise<number>;
  rpCloseGift(gift: string, latch: string, channel: string, giftId: string, closedAtMs: number): Promise<number>;
  rpUpsertBucket(key: string, ...argv: (string | number)[]): Promise<number>;
}

/** Storage of activity configurations. */
@Injectable()
export class ActivityStore {
  private readonly redis: Redis & ActivityCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
    private readonly latches: SoldOutLatchWriter,
  ) {
    redis.defineCommand('rpUpsertGift', { numberOfKeys: 2, lua: UPSERT_GIFT });
    redis.defineCommand('rpCloseGift', { numberOfKeys: 2, lua: CLOSE_GIFT });
    redis.defineCommand('rpUpsertBucket', { numberOfKeys: 1, lua: UPSERT_BUCKET });
    redis.defineCommand('rpUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.redis = redis as Redis & ActivityCommands;
  }

  /** Runs `fn` holding the publish lock; undefined when another publish holds it. */
  async withPublishLock<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const token = randomUUID();
    const acquired = await this.redis.set(this.keys.publishLock(), token, 'PX', 10_000, 'NX');
    if (acquired !== 'OK') return undefined;
    try {
      return await fn();
    } finally {
      await this.redis.rpUnlock(this.keys.publishLock(), token);
    }
  }

  async giftOwnership(giftIds: string[]): Promise<GiftOwnership[]> {
    return Promise.all(
      giftIds.map(async (id) => {
        const [activityId, reserved, retiredAtMs, buckets, allotted] = await this.redis.hmget(this.keys.gift(id), 'activityId', 'reserved', 'retiredAtMs', 'buckets', 'allotted');
        const count = Number(buckets ?? 1);
        const reservedInBuckets = count > 1
          ? (await Promise.all(giftBuckets.ids(id, count).map((b) => this.redis.hget(this.keys.gift(b), 'reserved')))).reduce((sum, v) => sum + Number(v ?? 0), 0)
          : Number(reserved ?? 0);
        return {
          activityId: activityId ?? undefined,
          reserved: reservedInBuckets,
          handedOut: count > 1 ? Number(allotted ?? 0) : reservedInBuckets,
          buckets: count,
          retired: !!retiredAtMs,
        };
      }),
    );
  }

  /** The gift ids an activity had when last published. */
  async activityGiftIds(activityId: string): Promise<string[] | undefined> {
    const raw = await this.redis.hget(this.keys.activity(activityId), 'giftIds');
    return raw ? (JSON.parse(raw) as string[]) : undefined;
  }

  /** The activity's configuration as stored (its gifts in published order), or undefined when none. */
  async storedConfig(activityId: string): Promise<ActivityConfig | undefined> {
    const activity = await this.redis.hgetall(this.keys.activity(activityId));
    if (!activity.name) return undefined;
    const giftIds = JSON.parse(activity.giftIds ?? '[]') as string[];
    const gifts = await Promise.all(giftIds.map(async (giftId) => {
      const record = parseGiftRecord(await this.redis.hgetall(this.keys.gift(giftId)));
      return record && { ...record, giftId };
    }));
    return toStoredActivityConfig(activity, gifts.filter((g) => g !== undefined));
  }

  /**
   * Stores a gift; a split gift's buckets too (each a gift of its own in its own slot, see
   * `giftBuckets`), after the gift itself was checked and written. The caller then has the
   * rebalancer hand the gift's pool to the buckets.
   */
  async upsertGift(activityId: string, gift: GiftConfig, window: { startsAtMs: number; endsAtMs: number }): Promise<string[]> {
    const k = this.keys;
    const count = gift.buckets ?? 1;
    const bucketIds = giftBuckets.ids(gift.giftId, count);
    // Listed first: the reconciler must know every gift that can hold open orders.
    await this.redis.sadd(k.gifts(), gift.giftId, ...(count > 1 ? bucketIds : []));
    const result = await this.redis.rpUpsertGift(
      k.gift(gift.giftId), k.giftSoldOutLatch(gift.giftId),
      activityId, gift.name, gift.inventory, gift.dailyLimit ?? 0, gift.perUserLimit, gift.delivery,
      gift.provider.url, gift.provider.orderNumbers ? '1' : '0', window.startsAtMs, window.endsAtMs, k.soldOutChannel(), gift.giftId, count,
    );
    if (result[0] !== 'ok') return result;
    this.latches.arm(gift.giftId, Number(result[1]));
    if (count > 1) {
      await Promise.all(bucketIds.map((id, i) => this.redis.rpUpsertBucket(k.gift(id),
        activityId, gift.name, gift.dailyLimit ? giftBuckets.share(gift.dailyLimit, count, i) : 0, gift.perUserLimit, gift.delivery,
        gift.provider.url, gift.provider.orderNumbers ? '1' : '0', window.startsAtMs, window.endsAtMs, gift.giftId)));
      await this.redis.sadd(k.splitGifts(), gift.giftId);
    }
    return result;
  }

  /** Closes a gift dropped from its activity (and its buckets): it stays readable (orders refer to it) but cannot be claimed. */
  async closeGift(giftId: string): Promise<void> {
    const ids = await readStoredGiftIds(this.redis, this.keys, giftId);
    // closedAtMs: when it ended, for retention (endsAtMs 0 refuses claims at once).
    const closedAtMs = Date.now();
    await Promise.all(ids.map((id) => this.redis.rpCloseGift(this.keys.gift(id), this.keys.giftSoldOutLatch(id), this.keys.soldOutChannel(), id, closedAtMs)));
  }

  /**
   * The configuration as published, for the system of record (the archiver copies the stream to
   * PostgreSQL's activity_versions and deletes what it copied; capped at ~10000 entries meanwhile).
   */
  async recordVersion(activityId: string, config: ActivityConfig, actor: string, reason: string): Promise<void> {
    await this.redis.xadd(this.keys.activityVersions(), 'MAXLEN', '~', 10_000, '*',
      'activityId', activityId, 'publishedAt', new Date().toISOString(), 'actor', actor, 'reason', reason, 'config', JSON.stringify(config));
  }

  async saveActivity(activityId: string, config: ActivityConfig, window: { startsAtMs: number; endsAtMs: number }): Promise<void> {
    await this.redis.hset(this.keys.activity(activityId), {
      name: config.name,
      startsAtMs: window.startsAtMs,
      endsAtMs: window.endsAtMs,
      giftIds: JSON.stringify(config.gifts.map((g) => g.giftId)),
      ...(config.successObjective === undefined ? {} : { successObjective: config.successObjective }),
    });
    if (config.successObjective === undefined) await this.redis.hdel(this.keys.activity(activityId), 'successObjective');
    await this.redis.sadd(this.keys.activities(), activityId);
  }
}
