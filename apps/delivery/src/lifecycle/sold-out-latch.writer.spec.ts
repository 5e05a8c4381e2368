import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { decodeSoldOutLatch, latchRefuses } from '@app/platform';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { waitFor } from '../../../../test/support/wait-for.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderStore } from './order.store.js';
import { SoldOutLatchWriter } from './sold-out-latch.writer.js';

// Sell-out detection and re-arming live in the lifecycle scripts: tested on a real Redis, with the
// latch's announcements read from a real subscription.
describe('sold-out latch (delivery side)', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let subscriber: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  let writer: SoldOutLatchWriter;
  let messages: string[];
  const now = Date.parse('2026-06-01T12:00:00Z');
  const day = '2026-06-01';
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;
  const start = (orderId: string, userId: string) =>
    store.start({ orderId, userId, giftId: 'g1' }, { nowMs: now, day, createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false });
  const latch = async () => {
    const raw = await redis.get(keys.giftSoldOutLatch('g1'));
    return raw ? decodeSoldOutLatch(raw) : undefined;
  };
  const gift = (fields: Record<string, string | number> = {}) =>
    redis.hset(keys.gift('g1'), {
      activityId: 'a1', name: 'Skin', inventory: 2, reserved: 0, dailyLimit: 0, perUserLimit: 1, delivery: 'sync',
      providerUrl: 'http://127.0.0.1:7001', orderNumbers: '1', startsAtMs: now - 1000, endsAtMs: now + 60_000, ...fields,
    });

  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url);
    subscriber = new Redis(testRedis.url);
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
  });
  beforeEach(async () => {
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
    writer = new SoldOutLatchWriter(redis, keys);
    store = new OrderStore(redis, keys, config, writer);
    messages = [];
    await subscriber.subscribe(keys.soldOutChannel());
  });
  afterEach(async () => {
    await subscriber.unsubscribe();
    await deletePrefix(testRedis.url, keys.prefix);
  });
  afterAll(async () => {
    redis.disconnect();
    subscriber.disconnect();
    await testRedis.stop();
  });

  it('the claim that takes the last unit builds the latch: its orders and users pass, a new user is refused', async () => {
    await gift();
    await start('o1', 'u1');
    expect(await latch()).toBeUndefined();
    await start('o2', 'u2');
    const latched = (await waitFor(latch, { timeoutMs: 5_000, what: 'the latch' }))!;
    expect(latched).toMatchObject({ giftId: 'g1', seq: 1, startsAtMs: now - 1000, endsAtMs: now + 60_000 });
    const claim = (orderId: string, userId: string) => latchRefuses(latched, { orderId, userId, nowMs: now, isPaused: false });
    expect([claim('o1', 'someone'), claim('o2', 'u2'), claim('new', 'u1'), claim('new', 'u3')]).toEqual([false, false, false, true]);
    await waitFor(() => messages.includes('armed|g1'), { timeoutMs: 2_000, what: 'armed announcement' });
    // Later SOLD_OUT refusals build nothing more (the latch exists).
    expect(await start('o3', 'u3')).toEqual({ kind: 'refused', code: 'SOLD_OUT' });
    expect(await redis.hget(keys.gift('g1'), 'latchSeq')).toBe('1');
  });

  it('a failed order releasing its unit re-arms: the latch is dropped and announced cleared, a new claim succeeds', async () => {
    await gift({ inventory: 1 });
    await start('o1', 'u1');
    await waitFor(latch, { timeoutMs: 5_000, what: 'the latch' });
    await store.move({ orderId: 'o1', userId: 'u1', giftId: 'g1' }, 'delivering', 'failed', 'claim');
    expect(await latch()).toBeUndefined();
    await waitFor(() => messages.includes('cleared|g1'), { timeoutMs: 2_000, what: 'cleared announcement' });
    expect(await start('o2', 'u2')).toMatchObject({ kind: 'started' });
    // ... which sells it out again: a new latch, sequence 3 (1 sold out, 2 cleared), holding both orders.
    const again = await waitFor(async () => (await latch())?.seq === 3 && latch(), { timeoutMs: 5_000, what: 'the second latch' });
    expect(again && latchRefuses(again, { orderId: 'o1', userId: 'x', nowMs: now, isPaused: false })).toBe(false);
  });

  it('a latch built for an older sell-out is not stored', async () => {
    await gift({ inventory: 1 });
    await redis.hset(keys.gift('g1'), 'soldOut', '1', 'latchSeq', 4);
    expect(await writer.build('g1', 3)).toBe(false);
    expect(await latch()).toBeUndefined();
    expect(await writer.build('g1', 4)).toBe(true);
    expect(await latch()).toMatchObject({ seq: 4 });
  });

  it('a gift marked sold out whose builder died is handed to the next SOLD_OUT refusal after the build lease', async () => {
    await gift({ inventory: 0 });
    await redis.hset(keys.gift('g1'), 'soldOut', '1', 'latchSeq', 7, 'latchBuildUntil', Date.now() + 60_000);
    await start('o1', 'u1'); // lease running: nothing built
    expect(await latch()).toBeUndefined();
    await redis.hset(keys.gift('g1'), 'latchBuildUntil', 0); // the lease ended
    await start('o2', 'u2');
    expect(await waitFor(latch, { timeoutMs: 5_000, what: 'the latch' })).toMatchObject({ seq: 7 });
  });
});
