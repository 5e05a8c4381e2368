import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { DELIVERY_REDIS } from './delivery-redis.js';
import type { ProviderTarget } from './order.store.js';

/** Where a gift's orders are delivered, as currently published (a re-publish may move it). */
@Injectable()
export class GiftTargets {
  constructor(
    @Inject(DELIVERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async of(giftId: string): Promise<ProviderTarget | undefined> {
    const [providerUrl, orderNumbers] = await this.redis.hmget(this.keys.gift(giftId), 'providerUrl', 'orderNumbers');
    return providerUrl ? { providerUrl, orderNumbers: orderNumbers === '1' } : undefined;
  }
}
