import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type ActivityView,
  type GiftView,
  type OrderView,
  parseGiftRecord,
  RedisKeys,
  toGiftView,
  toOrderView,
  utcDay,
} from '@app/contracts';

import { QueryArchive } from './archive/query-archive.js';

export const QUERY_REDIS = Symbol('QUERY_REDIS');

/** Read-only access to activities, gifts and orders for users (operators' reads: admin/admin.repository.ts). */
@Injectable()
export class QueryRepository {
  constructor(
    @Inject(QUERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly archive: QueryArchive,
  ) {}

  async gift(giftId: string, nowMs = Date.now()): Promise<GiftView | undefined> {
    const [hash, today] = await Promise.all([
      this.redis.hgetall(this.keys.gift(giftId)),
      this.redis.get(this.keys.giftDay(giftId, utcDay(nowMs))),
    ]);
    const record = parseGiftRecord(hash);
    return record && toGiftView(giftId, record, Number(today ?? 0));
  }

  async activity(activityId: string): Promise<ActivityView | undefined> {
    const hash = await this.redis.hgetall(this.keys.activity(activityId));
    if (!hash.name) return undefined;
    const giftIds = JSON.parse(hash.giftIds ?? '[]') as string[];
    const gifts = (await Promise.all(giftIds.map((id) => this.gift(id)))).filter((g): g is GiftView => !!g);
    return {
      activityId,
      name: hash.name,
      startsAt: new Date(Number(hash.startsAtMs)).toISOString(),
      endsAt: new Date(Number(hash.endsAtMs)).toISOString(),
      gifts,
    };
  }

  async activities(): Promise<ActivityView[]> {
    const ids = (await this.redis.smembers(this.keys.activities())).sort();
    const views = await Promise.all(ids.map((id) => this.activity(id)));
    return views.filter((v): v is ActivityView => !!v);
  }

  /** The order, only if it belongs to `userId`. */
  async order(orderId: string, userId: string): Promise<OrderView | undefined> {
    const view = await this.orderView(orderId);
    return view && view.userId === userId ? view : undefined;
  }

  async userOrders(userId: string, limit: number): Promise<OrderView[]> {
    const ids = await this.redis.zrevrange(this.keys.userOrders(userId), 0, limit - 1);
    // One command per order, not a pipeline: the orders live in different cluster slots, and an
    // ioredis Cluster pipeline must stay on one node. Auto-pipelining still batches them per node.
    const views = await Promise.all(ids.map((id) => this.orderView(id)));
    return views.filter((v): v is OrderView => !!v && v.userId === userId);
  }

  /**
   * An order number's binding names its gift; the order's state lives in that gift's slot. With no
   * binding or no state (retention removed it: the state first, the binding last), the archive.
   * A refused claim's state is no order, and not looked for further.
   */
  private async orderView(orderId: string): Promise<OrderView | undefined> {
    const giftId = await this.redis.hget(this.keys.orderBinding(orderId), 'giftId');
    if (giftId) {
      const hash = await this.redis.hgetall(this.keys.orderState(giftId, orderId));
      if (hash.status) return toOrderView(hash);
    }
    return this.archive.userOrder(orderId);
  }
}
