import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { decodeSoldOutLatch } from '@app/platform';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { waitFor } from '../../../../test/support/wait-for.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderStore } from '../lifecycle/order.store.js';
import { SoldOutLatchWriter } from '../lifecycle/sold-out-latch.writer.js';
import { ActivityStore } from './activity.store.js';

// Publishing keeps a gift's sold-out latch right (upsert and close scripts), on a real Redis.
describe('ActivityStore and the sold-out latch', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let subscriber: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  let writer: SoldOutLatchWriter;
  let messages: string[];
  const now = Date.now();
  const day = new Date(now).toISOString().slice(0, 10);
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;
  const start = (orderId: string, userId: string) =>
    store.start({ orderId, userId, giftId: 'g1' }, { nowMs: now, day, createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false });
  const latch = async () => {
    const raw = await redis.get(keys.giftSoldOutLatch('g1'));
    return raw ? decodeSoldOutLatch(raw) : undefined;
  };

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

  it('publishing: raising inventory re-arms; lowering it to what is reserved latches; a new window rebuilds; closing drops it', async () => {
    const activities = new ActivityStore(redis, keys, writer);
    const giftConfig = (inventory: number) =>
      ({ giftId: 'g1', name: 'Skin', inventory, perUserLimit: 1, delivery: 'sync', provider: { url: 'http://127.0.0.1:7001', orderNumbers: true } }) as never;
    const window = (endsAtMs = now + 60_000) => ({ startsAtMs: now - 1000, endsAtMs });
    await activities.upsertGift('a1', giftConfig(1), window());
    await start('o1', 'u1');
    await waitFor(latch, { timeoutMs: 5_000, what: 'the latch' });
    await activities.upsertGift('a1', giftConfig(2), window());
    expect(await latch()).toBeUndefined();
    await waitFor(() => messages.includes('cleared|g1'), { timeoutMs: 2_000, what: 'cleared announcement' });
    await activities.upsertGift('a1', giftConfig(1), window());
    expect(await waitFor(latch, { timeoutMs: 5_000, what: 'the latch after lowering' })).toMatchObject({ endsAtMs: now + 60_000 });
    await activities.upsertGift('a1', giftConfig(1), window(now + 120_000));
    expect(await waitFor(async () => (await latch())?.endsAtMs === now + 120_000, { timeoutMs: 5_000, what: 'the rebuilt latch' })).toBe(true);
    await activities.closeGift('g1');
    expect(await latch()).toBeUndefined();
    expect(await redis.hget(keys.gift('g1'), 'soldOut')).toBe('0');
  });
});
