import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { giftBuckets, RedisKeys } from '@app/contracts';
import { DELIVERY_REDIS } from '../lifecycle/delivery-redis.js';

/** Gifts whose bucket count is remembered per process (then it starts over). */
const REMEMBERED = 50_000;

/**
 * Where a claim of a gift is stored: the gift itself, or, for a gift split over buckets, the bucket
 * the user's id hashes to. A gift's bucket count is fixed once it is published, so it is read once
 * per gift and process (an unknown gift is not remembered: it may be published next).
 */
@Injectable()
export class GiftBucketCounts {
  private readonly counts = new Map<string, number>();

  constructor(
    @Inject(DELIVERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** The stored gift id (the gift, or the user's bucket of it) a user's claim of `giftId` uses. */
  async claimSlot(giftId: string, userId: string): Promise<string> {
    return giftBuckets.forUser(giftId, await this.count(giftId), userId);
  }

  async count(giftId: string): Promise<number> {
    const known = this.counts.get(giftId);
    if (known !== undefined) return known;
    const [activityId, buckets] = await this.redis.hmget(this.keys.gift(giftId), 'activityId', 'buckets');
    const count = Math.max(1, Number(buckets ?? 1));
    if (activityId) {
      if (this.counts.size >= REMEMBERED) this.counts.clear();
      this.counts.set(giftId, count);
    }
    return count;
  }
}
