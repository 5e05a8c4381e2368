import type { Redis } from 'ioredis';
import { RedisKeys, toAdminOrderView } from '@app/contracts';
import { OrderArchive } from '@app/platform';
import { useTestDatabase } from '../../../../test/support/database.js';
import { redisPerTest } from '../../../../test/support/redis.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderStore } from '../lifecycle/order.store.js';
import { ARCHIVER_GROUP } from './group-stream.reader.js';
import { OrderArchiver } from './order.archiver.js';

// Real Redis (the settlement stream is written by the lifecycle's Lua) and real PostgreSQL.
describe('OrderArchiver', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  let t: Awaited<ReturnType<typeof useTestDatabase>>;
  let archive: OrderArchive;
  const now = Date.now();
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;
  const archiver = (consumer: string, claimIdleMs = 60_000, batchSize = 50) =>
    new OrderArchiver(redis, keys, archive, { consumer, batchSize, intervalMs: 50, claimIdleMs });

  beforeAll(async () => {
    t = await useTestDatabase();
    archive = new OrderArchive(t.db);
  });
  beforeEach(() => {
    ({ redis, keys } = spec);
    store = new OrderStore(redis, keys, config);
  });
  afterAll(async () => {
    await t.drop();
  });

  async function settle(giftId: string, n: number, to: 'delivered' | 'failed' = 'delivered'): Promise<string[]> {
    await redis.sadd(keys.gifts(), giftId);
    await redis.hset(keys.gift(giftId), {
      activityId: 'a1', name: 'Skin', inventory: 1000, reserved: 0, dailyLimit: 0, perUserLimit: 1000, delivery: 'sync',
      providerUrl: 'http://127.0.0.1:7001', orderNumbers: '1', startsAtMs: now - 1000, endsAtMs: now + 60_000,
    });
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const ref = { orderId: `${keys.prefix}-${giftId}-${i}`, userId: `u${i % 3}`, giftId };
      await store.start(ref, { nowMs: now, day: new Date(now).toISOString().slice(0, 10), createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false });
      expect(await store.move(ref, 'delivering', to, 'claim', { epoch: 1, reason: to === 'failed' ? 'provider said 400' : '' })).toMatchObject({ moved: true });
      ids.push(ref.orderId);
    }
    return ids;
  }

  it('archives every settled order of every gift with its history, then empties the streams', async () => {
    const ids = [...(await settle('ga', 7)), ...(await settle('gb', 5, 'failed'))];
    expect(await redis.xlen(keys.giftSettled('ga'))).toBe(7);
    const a = archiver('a', 60_000, 4);
    let rounds = 0;
    while ((await a.round()) > 0) rounds += 1;
    expect(rounds).toBe(3); // 12 entries in batches of at most 4
    expect(await archive.archiveCounts(ids)).toEqual(new Map(ids.map((id) => [id, 1])));
    const failed = await archive.find(ids[8]);
    expect(failed).toMatchObject({ status: 'failed', giftId: 'gb', version: 2 });
    expect(failed?.history.map((h) => h.status)).toEqual(['delivering', 'failed']);
    expect(failed?.history[1]).toMatchObject({ actor: 'claim', reason: 'provider said 400' });
    // The claim path's batched lookup: several numbers in one query, absent ones left out.
    const many = await archive.findMany([ids[0], ids[8], 'never-archived']);
    expect([...many.keys()].sort()).toEqual([ids[0], ids[8]].sort());
    expect(many.get(ids[8])).toEqual(failed);
    expect(await redis.xlen(keys.giftSettled('ga'))).toBe(0);
    expect(await redis.xlen(keys.giftSettled('gb'))).toBe(0);
    expect(await a.lagMs()).toBe(0);
  });

  it('a consumer that died with entries pending: they are taken over once idle and archived once', async () => {
    const ids = await settle('gc', 6);
    const stream = keys.giftSettled('gc');
    await redis.xgroup('CREATE', stream, ARCHIVER_GROUP, '0', 'MKSTREAM');
    // The dead archiver read them (they are pending for it) and, say, even upserted half before dying.
    await redis.xreadgroup('GROUP', ARCHIVER_GROUP, 'dead', 'COUNT', 100, 'STREAMS', stream, '>');
    const halfway = await Promise.all(ids.slice(0, 3).map(async (id) =>
      toAdminOrderView(await redis.hgetall(keys.orderState('gc', id)), await redis.lrange(keys.orderHistory('gc', id), 0, -1))!));
    await archive.upsert(halfway);
    expect(await archiver('a', 60_000).round()).toBe(0); // not idle long enough yet: nobody takes them
    await new Promise((resolve) => setTimeout(resolve, 150));
    const b = archiver('b', 100);
    expect(await b.round()).toBe(6);
    expect(await b.round()).toBe(0);
    expect(await archive.archiveCounts(ids)).toEqual(new Map(ids.map((id) => [id, 1])));
    const pending = (await redis.xpending(stream, ARCHIVER_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('prunes consumers gone for good, never one holding pending entries, nor itself', async () => {
    await settle('gp', 2);
    const stream = keys.giftSettled('gp');
    await redis.xgroup('CREATE', stream, ARCHIVER_GROUP, '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', ARCHIVER_GROUP, 'holder', 'COUNT', 1, 'STREAMS', stream, '>');
    await redis.xreadgroup('GROUP', ARCHIVER_GROUP, 'left', 'COUNT', 1, 'STREAMS', stream, '0'); // a consumer with nothing pending
    const a = archiver('a');
    await a.round(); // joins (and archives the one unread entry)
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await a.pruneConsumers(stream, 10)).toBe(1);
    const names = ((await redis.xinfo('CONSUMERS', stream, ARCHIVER_GROUP)) as unknown[][]).map((c) => c[1]);
    expect(names.sort()).toEqual(['a', 'holder']);
  });

  it('PostgreSQL failing: nothing is acknowledged, and the next round archives everything', async () => {
    const ids = await settle('gd', 3);
    const refuse = () => Promise.reject(new Error('connection refused'));
    const broken = new OrderArchive({ query: refuse, execute: refuse, table: (n: string) => n } as never);
    const failing = new OrderArchiver(redis, keys, broken, { consumer: 'x', batchSize: 50, intervalMs: 50, claimIdleMs: 60_000 });
    await expect(failing.round()).rejects.toThrow('connection refused');
    expect(await redis.xlen(keys.giftSettled('gd'))).toBe(3);
    expect(await failing.lagMs()).toBeGreaterThanOrEqual(0);
    expect(await archiver('x').round()).toBe(3); // its own pending entries, re-read first
    expect(await archive.archiveCounts(ids)).toEqual(new Map(ids.map((id) => [id, 1])));
  });

  it('the same archiver re-reads its own pending entries after a failed round (and only reads new ones otherwise)', async () => {
    const first = await settle('g0', 1);
    let failOnce = false;
    const flaky = Object.assign(Object.create(archive) as OrderArchive, {
      upsert: (views: Parameters<OrderArchive['upsert']>[0]) => {
        if (!failOnce) return archive.upsert(views);
        failOnce = false;
        return Promise.reject(new Error('connection reset'));
      },
    });
    const a = new OrderArchiver(redis, keys, flaky, { consumer: 'f', batchSize: 50, intervalMs: 50, claimIdleMs: 60_000 });
    expect(await a.round()).toBe(1); // a clean round: from now on it reads only new entries...
    const ids = await settle('gf', 3);
    failOnce = true;
    await expect(a.round()).rejects.toThrow('connection reset'); // ...until a round fails with entries read
    expect(await a.round()).toBe(3); // read again although pending for it: a '>' read alone would miss them
    expect(await a.round()).toBe(0);
    const later = await settle('gg', 2);
    expect(await a.round()).toBe(2);
    expect(await archive.archiveCounts([...first, ...ids, ...later])).toEqual(new Map([...first, ...ids, ...later].map((id) => [id, 1])));
  });

  it('a re-queued failed order is not archived as failed by its stale entry; its later settlement is', async () => {
    const [id] = await settle('ge', 1, 'failed');
    const ref = { orderId: id, userId: 'u0', giftId: 'ge' };
    expect(await store.move(ref, 'failed', 'queued', 'operator', { reason: 'retry' })).toMatchObject({ moved: true });
    expect(await archiver('a').round()).toBe(1);
    expect(await archive.find(id)).toBeUndefined();
    await store.take(ref, 'queued', 1, 'worker', { sentTakeover: false });
    await store.move(ref, 'delivering', 'delivered', 'worker', { epoch: 2 });
    expect(await archiver('a').round()).toBe(1);
    expect(await archive.find(id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
