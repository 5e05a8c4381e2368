import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type ActivityView,
  type GiftView,
  type OrderView,
  RedisKeys,
  toGiftView,
  toOrderView,
  utcDay,
} from '@app/contracts';
import { readGiftStock } from '@app/platform';
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
    const stock = await readGiftStock(this.redis, this.keys, giftId, utcDay(nowMs));
    return stock && toGiftView(giftId, stock.record, stock.reservedToday);
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

  /**
   * The user's orders, newest first. `withArchive`: also those retention moved to PostgreSQL (the
   * user's list answers the same before and after archiving); the recommendations, which only count
   * orders of live gifts, read Redis alone and never wait on PostgreSQL.
   */
  async userOrders(userId: string, limit: number, opts: { withArchive?: boolean } = {}): Promise<OrderView[]> {
    const [ids, archived] = await Promise.all([
      this.redis.zrevrange(this.keys.userOrders(userId), 0, limit - 1),
      opts.withArchive ? this.archive.userOrders(userId, limit) : Promise.resolve([]),
    ]);
    // One command per order, not a pipeline: the orders live in different cluster slots, and an
    // ioredis Cluster pipeline must stay on one node. Auto-pipelining still batches them per node.
    const views = (await Promise.all(ids.map((id) => this.orderView(id)))).filter((v): v is OrderView => !!v && v.userId === userId);
    if (archived.length === 0) return views;
    // An order may be in both for a moment (archived, not yet retired): Redis's view wins.
    const seen = new Set(views.map((v) => v.orderId));
    return [...views, ...archived.filter((a) => !seen.has(a.orderId))]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.orderId.localeCompare(b.orderId))
      .slice(0, limit);
  }

  /**
   * An order number's binding names its gift; the order's state lives in that gift's slot. With no
   * binding or no state (retention removed it: the state first, the binding last), or only a refusal's
   * record (no order), the archive.
   */
  private async orderView(orderId: string): Promise<OrderView | undefined> {
    const giftId = await this.redis.hget(this.keys.orderBinding(orderId), 'giftId');
    if (giftId) {
      const view = toOrderView(await this.redis.hgetall(this.keys.orderState(giftId, orderId)));
      if (view) return view;
    }
    // Gone from Redis, or a refusal's record (which a repeat of a retired order's number may leave).
    return this.archive.userOrder(orderId);
  }
}
