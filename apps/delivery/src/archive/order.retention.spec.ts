import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { OrderArchive } from '@app/platform';
import { useTestDatabase } from '../../../../test/support/database.js';
import { redisPerTest } from '../../../../test/support/redis.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderBindingStore } from '../lifecycle/order-binding.store.js';
import { OrderStore } from '../lifecycle/order.store.js';
import { RetiredNumbers } from '../lifecycle/retired-numbers.js';
import { OrderArchiver } from './order.archiver.js';
import { OrderRetention } from './order.retention.js';
import { RetiredNumbersBuilder } from './retired-numbers.builder.js';

// Real Redis and PostgreSQL: retention deletes only what the archive is asked for and holds.
describe('OrderRetention', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  let bindings: OrderBindingStore;
  let numbers: RetiredNumbers;
  let t: Awaited<ReturnType<typeof useTestDatabase>>;
  let archive: OrderArchive;
  const now = Date.now();
  const endsAtMs = now - 10_000;
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;
  const retention = (retentionS = 5) => new OrderRetention(redis, keys, archive, bindings, { retentionS, lockMs: 10_000 });
  const archiveAll = async () => {
    const archiver = new OrderArchiver(redis, keys, archive, { consumer: 'a', batchSize: 100, intervalMs: 50, claimIdleMs: 60_000 });
    while ((await archiver.round()) > 0);
  };
  // The retired-number filter's 16,384 shards and marker are left out.
  const slotKeys = async () => (await redis.keys(`${keys.prefix}:*`)).filter((k) => !k.includes(':{rn:') && !k.includes(':retired-numbers:')).sort();

  beforeAll(async () => {
    t = await useTestDatabase();
    archive = new OrderArchive(t.db);
  });
  beforeEach(async () => {
    ({ redis, keys } = spec);
    store = new OrderStore(redis, keys, config);
    numbers = new RetiredNumbers(keys);
    bindings = new OrderBindingStore(redis, keys, numbers);
    expect(await new RetiredNumbersBuilder(redis, keys, numbers, archive, { lockMs: 10_000, slotBytes: 16 }).ensure()).toBe(true);
  });
  afterAll(async () => {
    await t.drop();
  });

  /** An activity that ran from an hour ago until 10 s ago, with orders claimed while it ran. */
  async function activity(orders: Array<{ id: string; user: string; to: 'delivered' | 'failed' | 'uncertain' }>): Promise<void> {
    await redis.sadd(keys.activities(), 'a1');
    await redis.hset(keys.activity('a1'), { name: 'A', startsAtMs: now - 3_600_000, endsAtMs, giftIds: JSON.stringify(['g1']) });
    await redis.sadd(keys.gifts(), 'g1');
    await redis.hset(keys.gift('g1'), {
      activityId: 'a1', name: 'Skin', inventory: 100, reserved: 0, dailyLimit: 0, perUserLimit: 5, delivery: 'sync',
      providerUrl: 'http://127.0.0.1:7001', orderNumbers: '0', startsAtMs: now - 3_600_000, endsAtMs: now + 60_000,
    });
    for (const o of orders) {
      const ref = { orderId: `${keys.prefix}-${o.id}`, userId: o.user, giftId: 'g1' };
      await bindings.bind(ref, now);
      await bindings.indexForUser(ref, now);
      await store.start(ref, { nowMs: now, day: new Date(now).toISOString().slice(0, 10), createdAtMs: now, uncertainLimit: 5, paused: false, forceAsync: false });
      expect(await store.move(ref, 'delivering', o.to, 'claim', { epoch: 1 })).toMatchObject({ moved: true });
    }
    await redis.hset(keys.gift('g1'), 'endsAtMs', endsAtMs);
  }

  it('keeps everything before the activity ended plus RETENTION_SECONDS', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }]);
    await archiveAll();
    const before = await slotKeys();
    expect(await retention(3600).pass()).toEqual({ retired: 0, unarchived: 0, open: 0, giftsEmptied: 0, bindingsKept: 0 });
    expect(await slotKeys()).toEqual(before);
    expect(await redis.hget(keys.gift('g1'), 'retiredAtMs')).toBeNull();
  });

  it('removes archived orders with their bindings, user index entries, per-user counts and ledger; keeps the gift', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }, { id: 'o2', user: 'u2', to: 'failed' }, { id: 'o3', user: 'u1', to: 'delivered' }]);
    await archiveAll();
    await redis.set(keys.giftSoldOutLatch('g1'), '{}'); // a sold-out latch left from the activity: it goes too
    expect(await retention().pass()).toEqual({ retired: 3, unarchived: 0, open: 0, giftsEmptied: 1, bindingsKept: 0 });
    const left = (await slotKeys()).map((k) => k.slice(keys.prefix.length + 1));
    expect(left.filter((k) => !k.includes(':day:'))).toEqual(['activities', '{a:a1}:activity', '{g:g1}:gift'].sort()); // and off the gifts set
    expect(await archive.find(`${keys.prefix}-o2`)).toMatchObject({ status: 'failed', userId: 'u2' });
    expect(Number(await redis.hget(keys.gift('g1'), 'retiredAtMs'))).toBeGreaterThanOrEqual(now);
    // Never claimable again, even were its window open: told apart from NOT_ACTIVE for the claim's archive check.
    await redis.hset(keys.gift('g1'), 'endsAtMs', now + 60_000);
    const again = await store.start({ orderId: `${keys.prefix}-o9`, userId: 'u9', giftId: 'g1' }, { nowMs: now, day: new Date(now).toISOString().slice(0, 10), createdAtMs: now, uncertainLimit: 5, paused: false, forceAsync: false });
    expect(again).toEqual({ kind: 'refused', code: 'RETIRED' });
  });

  it('retires an order\'s number into the filter with its binding; keeps the binding when the filter lost its shards', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }, { id: 'o2', user: 'u2', to: 'delivered' }]);
    await archiveAll();
    // Redis loses the filter (and nothing else) after this instance read its size.
    const shards = await redis.keys(`${keys.prefix}:{rn:*`);
    for (let i = 0; i < shards.length; i += 1000) await redis.del(...shards.slice(i, i + 1000));
    expect(await retention().pass()).toMatchObject({ retired: 2, bindingsKept: 2 });
    // Deleted without its bits a number could be taken for new: the binding stays, and a repeat finds it.
    for (const id of ['o1', 'o2']) expect(await redis.exists(keys.orderBinding(`${keys.prefix}-${id}`))).toBe(1);
    expect(await bindings.bind({ orderId: `${keys.prefix}-o1`, userId: 'u1', giftId: 'g1' }, now)).toMatchObject({ kind: 'existing' });
  });

  it('keeps settled orders the archive does not hold, and puts them back on the stream when their entry was lost', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }, { id: 'o2', user: 'u2', to: 'delivered' }]);
    await redis.del(keys.giftSettled('g1')); // the entries are lost (say, a failover): nothing is archived
    expect(await retention().pass()).toMatchObject({ retired: 0, unarchived: 2 });
    expect(await redis.exists(keys.orderState('g1', `${keys.prefix}-o1`), keys.orderBinding(`${keys.prefix}-o1`))).toBe(2);
    expect(await redis.xlen(keys.giftSettled('g1'))).toBe(2);
    await archiveAll();
    expect(await retention().pass()).toMatchObject({ retired: 2, unarchived: 0, giftsEmptied: 1, bindingsKept: 0 });
  });

  it('keeps an uncertain order and its user counts until it is resolved', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'uncertain' }, { id: 'o2', user: 'u1', to: 'delivered' }, { id: 'o3', user: 'u2', to: 'delivered' }]);
    await archiveAll();
    expect(await retention().pass()).toEqual({ retired: 2, unarchived: 0, open: 1, giftsEmptied: 0, bindingsKept: 0 });
    expect(await redis.hget(keys.giftUser('g1', 'u1'), 'uncertain')).toBe('1');
    expect(await redis.exists(keys.giftUser('g1', 'u2'))).toBe(0);
    const ref = { orderId: `${keys.prefix}-o1`, userId: 'u1', giftId: 'g1' };
    expect(await store.move(ref, 'uncertain', 'delivered', 'operator', { reason: 'checked with the provider' })).toMatchObject({ moved: true });
    expect(await retention().pass()).toMatchObject({ retired: 0, unarchived: 1 }); // not archived yet: stays
    await archiveAll();
    expect(await retention().pass()).toEqual({ retired: 1, unarchived: 0, open: 0, giftsEmptied: 1, bindingsKept: 0 });
    expect(await redis.exists(keys.giftUser('g1', 'u1'), keys.giftLedger('g1'), keys.userOrders('u1'))).toBe(0);
  });

  it('a gift dropped from its activity ends when it was closed', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }]);
    await archiveAll();
    await redis.hset(keys.gift('g1'), 'endsAtMs', 0); // closed, but when is not known: kept
    expect(await retention().pass()).toMatchObject({ retired: 0 });
    // Passes at given times: the spec's own clock (`now`, taken when the file loads) is seconds old by this test.
    const closedAt = Date.now() - 1_000;
    await redis.hset(keys.gift('g1'), 'closedAtMs', closedAt);
    expect(await retention().pass(closedAt + 1_000)).toMatchObject({ retired: 0 }); // closed a second ago: retention (5 s) has not passed
    expect(await retention().pass(closedAt + 6_000)).toMatchObject({ retired: 1, giftsEmptied: 1, bindingsKept: 0 });
  });

  it('one pass at a time: a second instance finds the lock taken', async () => {
    await activity([{ id: 'o1', user: 'u1', to: 'delivered' }]);
    await redis.set(keys.retentionLock(), 'other', 'PX', 10_000);
    expect(await retention().pass()).toBeUndefined();
  });
});
