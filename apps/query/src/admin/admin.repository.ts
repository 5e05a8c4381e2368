import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type AdminActivityView,
  type AdminOrderList,
  type AdminOrderView,
  encodeOrderCursor,
  isAfterCursor,
  type OrderCursor,
  type OrderStatus,
  type OrderView,
  giftBuckets,
  RedisKeys,
  toAdminOrderView,
  toOrderView,
  toStoredActivityConfig,
  utcDay,
} from '@app/contracts';
import { readGiftStock, readStoredGiftIds } from '@app/platform';
import { QueryArchive } from '../archive/query-archive.js';
import { QUERY_REDIS } from '../query.repository.js';

/** Index entries read from Redis per round trip while walking an index. */
const BATCH = 100;
/**
 * Most index entries one page looks at. A filter that matches few orders (e.g. `status=failed` on a
 * busy gift) then answers a short page with a `nextCursor` instead of reading every order at once.
 */
export const ORDER_SCAN_BUDGET = 1_000;
/** Most indexes (gifts) one page opens: with many gifts and few matches, a page ends early too. */
export const GIFT_SCAN_BUDGET = 200;
/** A creation time later than any (the cursor of "the start of this gift's index"). */
const END_OF_TIME_MS = 8.64e15;

export interface OrderFilter {
  status?: OrderStatus;
  giftId?: string;
  userId?: string;
  limit: number;
  cursor?: OrderCursor;
}

/** One index to walk, newest first, from a position (exclusive) when given. */
interface Source {
  key: string;
  /** The gift whose slot holds the index (gift mode); undefined for a user's index. */
  giftId?: string;
  after?: { s: number; o: string };
}

/**
 * The operators' reads (`/admin/orders`, `/admin/activities/{id}`), read-only. Orders are listed
 * from indexes kept in each gift's slot by the lifecycle scripts: every started order by creation
 * time (`giftOrders`), the uncertain ones (`giftUncertainOrders`); or from the user's index when a
 * user is named. Gifts are walked in id order from the gifts set, each newest order first.
 */
@Injectable()
export class AdminRepository {
  constructor(
    @Inject(QUERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly archive: QueryArchive,
  ) {}

  /**
   * Redis's indexes first, then the archive (orders retention removed from Redis; only `delivered`
   * and `failed` orders are ever archived, so other status filters never reach it).
   */
  async listOrders(filter: OrderFilter): Promise<AdminOrderList> {
    if (filter.cursor?.a) return this.archivePage(filter, [], { s: filter.cursor.s, o: filter.cursor.o });
    const page = await this.redisPage(filter);
    if (page.nextCursor || page.orders.length >= filter.limit) return page;
    return this.archivePage(filter, page.orders);
  }

  private async archivePage(filter: OrderFilter, orders: OrderView[], after?: { s: number; o: string }): Promise<AdminOrderList> {
    if (!this.archive.enabled || (filter.status && filter.status !== 'delivered' && filter.status !== 'failed')) return { orders };
    const want = filter.limit - orders.length;
    const rows = await this.archive.list({ status: filter.status, giftId: filter.giftId, userId: filter.userId, after, limit: want });
    // An order archived but not yet retired was listed from Redis already.
    const counts = new Map(await Promise.all([...new Set(rows.map((r) => r.giftId))].map(async (g) => [g, await this.bucketCount(g)] as const)));
    const inRedis = await Promise.all(rows.map(async (r) => {
      const stored = giftBuckets.forUser(r.giftId, counts.get(r.giftId) ?? 1, r.userId);
      return (await this.redis.exists(this.keys.orderState(stored, r.orderId))) === 1;
    }));
    const page = [...orders, ...rows.filter((_, i) => !inRedis[i]).map(({ createdAtMs: _createdAtMs, ...view }) => view)];
    if (rows.length < want) return { orders: page };
    const last = rows[rows.length - 1];
    const mode = filter.userId ? { m: 'u' as const } : { m: 'g' as const, g: filter.giftId ?? '_' };
    return { orders: page, nextCursor: encodeOrderCursor({ ...mode, s: last.createdAtMs, o: last.orderId, a: true }) };
  }

  private async redisPage(filter: OrderFilter): Promise<AdminOrderList> {
    const { cursor } = filter;
    if (filter.userId) {
      const after = cursor?.m === 'u' ? { s: cursor.s, o: cursor.o } : undefined;
      return this.walk([{ key: this.keys.userOrders(filter.userId), after }], filter);
    }
    // A split gift's orders are in its buckets (the set of every gift lists buckets as well).
    const giftIds = filter.giftId ? await this.storedIdsOf(filter.giftId) : (await this.redis.smembers(this.keys.gifts())).sort();
    const from = cursor?.m === 'g' && cursor.g ? cursor.g : undefined;
    const sources: Source[] = giftIds
      .filter((g) => from === undefined || g >= from)
      .map((giftId) => ({
        key: filter.status === 'uncertain' ? this.keys.giftUncertainOrders(giftId) : this.keys.giftOrders(giftId),
        giftId,
        ...(giftId === from && cursor ? { after: { s: cursor.s, o: cursor.o } } : {}),
      }));
    return this.walk(sources, filter);
  }

  /** A split gift's orders are in its buckets (its own slot holds none). */
  private async storedIdsOf(giftId: string): Promise<string[]> {
    const ids = await readStoredGiftIds(this.redis, this.keys, giftId);
    return (ids.length > 1 ? ids.slice(1) : [...ids]).sort();
  }

  /** Buckets a gift is split over (1: not split, or unknown). */
  private async bucketCount(giftId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.gift(giftId), 'buckets')) ?? 1);
  }

  /** Walks the indexes in turn, keeping the orders that match, until the page is full or the budget spent. */
  private async walk(sources: Source[], filter: OrderFilter): Promise<AdminOrderList> {
    const orders: OrderView[] = [];
    let examined = 0;
    for (const [visited, source] of sources.entries()) {
      if (visited >= GIFT_SCAN_BUDGET && source.giftId !== undefined) {
        // Stop before this gift: the next page starts at its newest order.
        return { orders, nextCursor: encodeOrderCursor({ m: 'g', g: source.giftId, s: END_OF_TIME_MS, o: '0' }) };
      }
      for (let offset = 0; ; offset += BATCH) {
        const max = source.after ? String(source.after.s) : '+inf';
        const flat = await this.redis.zrevrangebyscore(source.key, max, '-inf', 'WITHSCORES', 'LIMIT', offset, BATCH);
        const entries: Array<{ o: string; s: number }> = [];
        for (let i = 0; i < flat.length; i += 2) {
          const entry = { o: flat[i], s: Number(flat[i + 1]) };
          if (isAfterCursor(source.after, entry.s, entry.o)) entries.push(entry);
        }
        const batch = entries.slice(0, ORDER_SCAN_BUDGET - examined);
        const views = await Promise.all(batch.map((e) => this.orderView(e.o, source.giftId)));
        for (const [i, view] of views.entries()) {
          examined += 1;
          if (view && this.matches(view, filter)) orders.push(view);
          if (orders.length >= filter.limit || examined >= ORDER_SCAN_BUDGET) {
            const last = batch[i];
            const mode = source.giftId === undefined ? { m: 'u' as const } : { m: 'g' as const, g: source.giftId };
            return { orders, nextCursor: encodeOrderCursor({ ...mode, s: last.s, o: last.o }) };
          }
        }
        if (flat.length < BATCH * 2) break;
      }
    }
    return { orders };
  }

  private matches(view: OrderView, filter: OrderFilter): boolean {
    return (!filter.status || view.status === filter.status) && (!filter.giftId || view.giftId === filter.giftId) && (!filter.userId || view.userId === filter.userId);
  }

  /** An order's view; its gift is known in gift mode, else its binding names it. */
  private async orderView(orderId: string, giftId?: string): Promise<OrderView | undefined> {
    const gift = giftId ?? (await this.redis.hget(this.keys.orderBinding(orderId), 'giftId'));
    return gift ? toOrderView(await this.redis.hgetall(this.keys.orderState(gift, orderId))) : undefined;
  }

  /** An order with its history; undefined when it does not exist (or the claim was refused). */
  async order(orderId: string): Promise<AdminOrderView | undefined> {
    const giftId = await this.redis.hget(this.keys.orderBinding(orderId), 'giftId');
    if (giftId) {
      const [hash, history] = await Promise.all([
        this.redis.hgetall(this.keys.orderState(giftId, orderId)),
        this.redis.lrange(this.keys.orderHistory(giftId, orderId), 0, -1),
      ]);
      const view = toAdminOrderView(hash, history);
      if (view) return view;
    }
    // Not (or no longer) in Redis: an archived order answers with the same body, history included.
    return this.archive.order(orderId);
  }

  /** The stored configuration, each gift with what it consumed; undefined when the activity does not exist. */
  async activity(activityId: string, nowMs = Date.now()): Promise<AdminActivityView | undefined> {
    const hash = await this.redis.hgetall(this.keys.activity(activityId));
    if (!hash.name) return undefined;
    const giftIds = JSON.parse(hash.giftIds ?? '[]') as string[];
    const gifts = await Promise.all(
      giftIds.map(async (giftId) => {
        const stock = await readGiftStock(this.redis, this.keys, giftId, utcDay(nowMs));
        return stock && { ...stock.record, giftId, reservedToday: stock.reservedToday };
      }),
    );
    const present = gifts.filter((g) => g !== undefined);
    const config = toStoredActivityConfig(hash, present);
    if (!config) return undefined;
    return {
      activityId,
      ...config,
      gifts: config.gifts.map((gift, i) => ({
        ...gift,
        consumed: {
          reserved: present[i].reserved,
          delivered: present[i].delivered,
          remaining: Math.max(0, present[i].inventory - present[i].reserved),
          reservedToday: present[i].reservedToday,
        },
      })),
    };
  }
}
