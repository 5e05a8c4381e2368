import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type ActivityConfig, type GiftConfig, parseGiftRecord, RedisKeys, toStoredActivityConfig } from '@app/contracts';
import { DELIVERY_REDIS } from '../lifecycle/delivery-redis.js';

/**
 * Stores one gift's configuration, keeping what was consumed (`reserved`).
 * KEYS[1] gift hash ({g:giftId})
 * ARGV activityId, name, inventory, dailyLimit, perUserLimit, delivery, providerUrl, orderNumbers, startsAtMs, endsAtMs
 * Returns {'ok'}; {'owned', otherActivityId} when another activity owns the gift; {'below', reserved}
 * when the inventory is lower than what is already reserved; {'retired', atMs} when retention
 * retired the gift (its orders left Redis for the archive). Nothing is written unless 'ok'.
 */
const UPSERT_GIFT = `
local current = redis.call('HMGET', KEYS[1], 'activityId', 'reserved', 'retiredAtMs')
if current[3] then return {'retired', current[3]} end
if current[1] and current[1] ~= ARGV[1] then return {'owned', current[1]} end
if tonumber(ARGV[3]) < tonumber(current[2] or '0') then return {'below', current[2]} end
redis.call('HSET', KEYS[1], 'activityId', ARGV[1], 'name', ARGV[2], 'inventory', ARGV[3], 'dailyLimit', ARGV[4],
  'perUserLimit', ARGV[5], 'delivery', ARGV[6], 'providerUrl', ARGV[7], 'orderNumbers', ARGV[8],
  'startsAtMs', ARGV[9], 'endsAtMs', ARGV[10])
if not current[2] then redis.call('HSET', KEYS[1], 'reserved', 0) end
return {'ok'}
`;

/** Releases the publish lock only if this caller still holds it. KEYS[1] lock; ARGV token. */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface GiftOwnership {
  activityId?: string;
  reserved: number;
  /** Retention retired it: its per-user counts left Redis, so it can never be claimable again. */
  retired: boolean;
}

interface ActivityCommands {
  rpUpsertGift(key: string, ...argv: (string | number)[]): Promise<string[]>;
  rpUnlock(key: string, token: string): Promise<number>;
}

/** Storage of activity configurations. */
@Injectable()
export class ActivityStore {
  private readonly redis: Redis & ActivityCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    redis.defineCommand('rpUpsertGift', { numberOfKeys: 1, lua: UPSERT_GIFT });
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
        const [activityId, reserved, retiredAtMs] = await this.redis.hmget(this.keys.gift(id), 'activityId', 'reserved', 'retiredAtMs');
        return { activityId: activityId ?? undefined, reserved: Number(reserved ?? 0), retired: !!retiredAtMs };
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

  async upsertGift(activityId: string, gift: GiftConfig, window: { startsAtMs: number; endsAtMs: number }): Promise<string[]> {
    // Listed first: the reconciler must know every gift that can hold open orders.
    await this.redis.sadd(this.keys.gifts(), gift.giftId);
    return this.redis.rpUpsertGift(
      this.keys.gift(gift.giftId),
      activityId, gift.name, gift.inventory, gift.dailyLimit ?? 0, gift.perUserLimit, gift.delivery,
      gift.provider.url, gift.provider.orderNumbers ? '1' : '0', window.startsAtMs, window.endsAtMs,
    );
  }

  /** Closes a gift dropped from its activity: it stays readable (orders refer to it) but cannot be claimed. */
  async closeGift(giftId: string): Promise<void> {
    // closedAtMs: when it ended, for retention (endsAtMs 0 refuses claims at once).
    await this.redis.hset(this.keys.gift(giftId), 'endsAtMs', 0, 'closedAtMs', Date.now());
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
    });
    await this.redis.sadd(this.keys.activities(), activityId);
  }
}
