import type { Redis } from 'ioredis';
import { decodeOrderCursor, type OrderCursor, RedisKeys } from '@app/contracts';
import { redisPerTest } from '../../../../test/support/redis.js';
import { QueryArchive } from '../archive/query-archive.js';
import { AdminRepository, GIFT_SCAN_BUDGET, ORDER_SCAN_BUDGET, type OrderFilter } from './admin.repository.js';

// The listing walks real Redis sorted sets: ties, filters, budgets and cursors are tested on them.
describe('AdminRepository order listing', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  let repo: AdminRepository;

  beforeEach(() => {
    ({ redis, keys } = spec);
    repo = new AdminRepository(redis, keys, new QueryArchive({ url: '', schema: 'public', poolMax: 1, statementTimeoutMs: 1_000 }));
  });

  /** An order as the lifecycle scripts leave it: state, binding, gift and user indexes. */
  async function order(orderId: string, giftId: string, createdAtMs: number, status = 'delivered', userId = 'u1') {
    await redis.sadd(keys.gifts(), giftId);
    await redis.hset(keys.orderState(giftId, orderId), { orderId, giftId, userId, activityId: 'a1', status, attempts: 1, version: 2, createdAtMs, updatedAtMs: createdAtMs });
    await redis.hset(keys.orderBinding(orderId), { orderId, giftId, userId, createdAtMs });
    await redis.zadd(keys.giftOrders(giftId), createdAtMs, orderId);
    await redis.zadd(keys.userOrders(userId), createdAtMs, orderId);
    if (status === 'uncertain') await redis.zadd(keys.giftUncertainOrders(giftId), createdAtMs, orderId);
  }
  async function pages(filter: Omit<OrderFilter, 'cursor'>): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let cursor: OrderCursor | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await repo.listOrders({ ...filter, ...(cursor ? { cursor } : {}) });
      ids.push(...page.orders.map((o) => o.orderId));
      sizes.push(page.orders.length);
      if (!page.nextCursor) return { ids, sizes };
      cursor = decodeOrderCursor(page.nextCursor);
    }
    throw new Error('no end');
  }

  it('walks gifts in id order, newest first, ties by id, each order once whatever the page size', async () => {
    await order('o1', 'gB', 100);
    await order('o2', 'gB', 200);
    await order('o3', 'gB', 200);
    await order('o4', 'gB', 200);
    await order('o5', 'gA', 50);
    for (const limit of [1, 2, 3, 10]) {
      const { ids, sizes } = await pages({ limit });
      expect(ids).toEqual(['o5', 'o4', 'o3', 'o2', 'o1']);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
    }
  });

  it('filters by status (the uncertain index for the work list), gift and user', async () => {
    await order('o1', 'g1', 1, 'uncertain', 'alice');
    await order('o2', 'g1', 2, 'delivered', 'bob');
    await order('o3', 'g2', 3, 'uncertain', 'bob');
    await order('o4', 'g2', 4, 'failed', 'alice');
    expect((await pages({ limit: 1, status: 'uncertain' })).ids).toEqual(['o1', 'o3']);
    expect((await pages({ limit: 1, giftId: 'g2' })).ids).toEqual(['o4', 'o3']);
    expect((await pages({ limit: 1, userId: 'alice' })).ids).toEqual(['o4', 'o1']);
    expect((await pages({ limit: 5, userId: 'bob', status: 'uncertain' })).ids).toEqual(['o3']);
    expect((await pages({ limit: 5, status: 'queued' })).ids).toEqual([]);
  });

  it('stops a page after its scan budget when matches are rare, with a cursor that goes on from there', async () => {
    for (let i = 0; i < ORDER_SCAN_BUDGET + 5; i++) await order(`o${i}`, 'g1', 10_000 + i, i === 0 ? 'failed' : 'delivered');
    const first = await repo.listOrders({ limit: 10, status: 'failed' });
    expect(first.orders).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    const second = await repo.listOrders({ limit: 10, status: 'failed', cursor: decodeOrderCursor(first.nextCursor!) });
    expect(second.orders.map((o) => o.orderId)).toEqual(['o0']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('opens at most GIFT_SCAN_BUDGET gifts per page, then goes on at the next gift', async () => {
    const gifts = Array.from({ length: GIFT_SCAN_BUDGET + 3 }, (_, i) => `g${String(i).padStart(4, '0')}`);
    await redis.sadd(keys.gifts(), ...gifts);
    await order('last', gifts.at(-1)!, 1);
    const first = await repo.listOrders({ limit: 10 });
    expect(first.orders).toEqual([]);
    expect(decodeOrderCursor(first.nextCursor!)).toMatchObject({ m: 'g', g: gifts[GIFT_SCAN_BUDGET] });
    const second = await repo.listOrders({ limit: 10, cursor: decodeOrderCursor(first.nextCursor!) });
    expect(second.orders.map((o) => o.orderId)).toEqual(['last']);
  });

  it('reads one order with its history, and not a refused claim', async () => {
    await order('o1', 'g1', 1_700_000_000_000, 'failed');
    await redis.hset(keys.orderState('g1', 'o1'), { failure: 'refused', error: 'provider answered 422' });
    await redis.rpush(keys.orderHistory('g1', 'o1'), '1700000000000|delivering|claim|', '1700000000500|failed|claim|provider answered 422|with a pipe');
    expect(await repo.order('o1')).toMatchObject({
      orderId: 'o1', userId: 'u1', status: 'failed', failure: 'refused',
      history: [
        { status: 'delivering', at: '2023-11-14T22:13:20.000Z', actor: 'claim' },
        { status: 'failed', at: '2023-11-14T22:13:20.500Z', actor: 'claim', reason: 'provider answered 422|with a pipe' },
      ],
    });
    await redis.hset(keys.orderBinding('r1'), { orderId: 'r1', giftId: 'g1', userId: 'u1' });
    await redis.hset(keys.orderState('g1', 'r1'), { orderId: 'r1', giftId: 'g1', userId: 'u1', status: 'refused', refusal: 'SOLD_OUT' });
    expect(await repo.order('r1')).toBeUndefined();
    expect(await repo.order('none')).toBeUndefined();
  });
});
