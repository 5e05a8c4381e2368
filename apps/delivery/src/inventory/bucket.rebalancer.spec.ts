import type { Redis } from 'ioredis';
import { giftBuckets, RedisKeys } from '@app/contracts';
import { decodeSoldOutLatch, latchRefuses } from '@app/platform';
import { redisPerTest } from '../../../../test/support/redis.js';
import { ActivityStore } from '../activities/activity.store.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderStore } from '../lifecycle/order.store.js';
import { SoldOutLatchWriter } from '../lifecycle/sold-out-latch.writer.js';
import { BucketRebalancer } from './bucket.rebalancer.js';

/** A connection whose rebalancing steps (all but taking the lease) can crash or stall at the n-th one. */
function faulty(redis: Redis, fault: { at: number; kind: 'crash-before' | 'crash-after' | 'stall'; resume?: Promise<void> }): Redis {
  let steps = 0;
  return new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !prop.startsWith('rpBucket') || prop === 'rpBucketLease' || prop === 'rpBucketRelease') return value.bind(target);
      return async (...args: unknown[]) => {
        steps += 1;
        if (steps === fault.at && fault.kind === 'crash-before') throw new Error('injected crash before the step');
        if (steps === fault.at && fault.kind === 'stall') await fault.resume;
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (steps === fault.at && fault.kind === 'crash-after') throw new Error('injected crash after the step');
        return result;
      };
    },
  });
}

/** Seeded PRNG (mulberry32). */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
}

// Against a real Redis: the transfers' safety lives in the Lua scripts and their order.
describe('BucketRebalancer (split gifts)', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  const now = Date.now();
  const day = new Date(now).toISOString().slice(0, 10);
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;

  beforeEach(() => {
    ({ redis, keys } = spec);
  });

  const publish = (giftId: string, inventory: number, buckets: number, perUserLimit = 1) =>
    new ActivityStore(redis, keys, new SoldOutLatchWriter(redis, keys)).upsertGift('a1', {
      giftId, name: 'Red packet', inventory, perUserLimit, delivery: 'sync', buckets, provider: { url: 'http://127.0.0.1:7001', orderNumbers: true },
    }, { startsAtMs: now - 60_000, endsAtMs: now + 3_600_000 });

  const claim = (store: OrderStore, giftId: string, buckets: number, userId: string, orderId: string) =>
    store.start({ orderId, userId, giftId: giftBuckets.forUser(giftId, buckets, userId) }, {
      nowMs: now, day, createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false,
    });

  const waitForLatch = async (key: string) => {
    for (let i = 0; i < 100; i++) {
      const raw = await redis.get(key);
      if (raw) return decodeSoldOutLatch(raw);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no latch at ${key}`);
  };

  /** A gift split over 2 buckets and stocked, with users of its first bucket (`a`). */
  const splitInTwo = async (inventory: number) => {
    await publish('hot', inventory, 2);
    const rebalancer = new BucketRebalancer(redis, keys);
    await rebalancer.rebalance('hot');
    const [a] = giftBuckets.ids('hot', 2);
    const usersOfA = Array.from({ length: 60 }, (_, i) => `u${i}`).filter((u) => giftBuckets.forUser('hot', 2, u) === a);
    return { rebalancer, store: new OrderStore(redis, keys, config), a, usersOfA };
  };

  /** The lease of a pass that died ends (as LEASE_MS would make it). */
  const leaseEnds = (giftId: string) => redis.hset(keys.gift(giftId), 'rebalanceUntil', 0);

  it('publishing hands the inventory to the buckets; claims land in the user\'s bucket and reads add up', async () => {
    expect((await publish('hot', 10, 3))[0]).toBe('ok');
    const rebalancer = new BucketRebalancer(redis, keys);
    expect(await rebalancer.rebalance('hot')).toBe(10);
    const stock = (await rebalancer.stock('hot'))!;
    expect(stock.allotted).toBe(10);
    expect(stock.buckets.map((b) => b.inventory).sort()).toEqual([3, 3, 4]);
    const store = new OrderStore(redis, keys, config);
    const started = await claim(store, 'hot', 3, 'u1', 'o1');
    expect(started.kind).toBe('started');
    const bucket = giftBuckets.forUser('hot', 3, 'u1');
    expect(await redis.hget(keys.giftUser(bucket, 'u1'), 'claimed')).toBe('1');
    expect(await redis.hget(keys.orderState(bucket, 'o1'), 'giftId')).toBe(bucket);
    expect(await redis.sismember(keys.splitGifts(), 'hot')).toBe(1);
    expect((await redis.smembers(keys.gifts())).sort()).toEqual(['hot', ...giftBuckets.ids('hot', 3)].sort());
  });

  it('an empty bucket answers REBALANCING (nothing stored) until a pass refills it; SOLD_OUT once everything is gone', async () => {
    // Users of the same bucket: the second finds it empty while the other bucket holds the last unit.
    const { rebalancer, store, a: bucketA, usersOfA: users } = await splitInTwo(2);
    expect((await claim(store, 'hot', 2, users[0], 'o1')).kind).toBe('started');
    expect(await claim(store, 'hot', 2, users[1], 'o2')).toEqual({ kind: 'refused', code: 'REBALANCING' });
    expect(await redis.exists(keys.orderState(bucketA, 'o2'))).toBe(0);
    expect(await rebalancer.rebalance('hot')).toBe(1);
    expect((await claim(store, 'hot', 2, users[1], 'o2')).kind).toBe('started');
    expect(await claim(store, 'hot', 2, users[2], 'o3')).toEqual({ kind: 'refused', code: 'REBALANCING' });
    await rebalancer.rebalance('hot');
    expect(await claim(store, 'hot', 2, users[2], 'o4')).toEqual({ kind: 'refused', code: 'SOLD_OUT' });
  });

  it('an operator\'s re-queue into an empty bucket is REBALANCING (bucket marked wanted) until a pass moves stock there', async () => {
    const { rebalancer, store, a: bucketA, usersOfA: [u1, u2, u3] } = await splitInTwo(4);
    expect((await claim(store, 'hot', 2, u1, 'o1')).kind).toBe('started');
    const o1 = { orderId: 'o1', userId: u1, giftId: bucketA };
    expect((await store.move(o1, 'delivering', 'failed', 'claim', { epoch: 1 })).moved).toBe(true);
    expect((await claim(store, 'hot', 2, u2, 'o2')).kind).toBe('started');
    expect((await claim(store, 'hot', 2, u3, 'o3')).kind).toBe('started');
    expect(await store.move(o1, 'failed', 'queued', 'operator')).toEqual({ moved: false, refused: 'REBALANCING' });
    expect(await redis.hget(keys.gift(bucketA), 'wanted')).toBe('1');
    expect(await rebalancer.rebalance('hot')).toBeGreaterThan(0);
    expect((await store.move(o1, 'failed', 'queued', 'operator')).moved).toBe(true);
  });

  it('latches a sold-out split gift from every bucket\'s ledger, and drops the latch when a unit comes back', async () => {
    await publish('hot', 4, 2);
    const rebalancer = new BucketRebalancer(redis, keys, new SoldOutLatchWriter(redis, keys));
    await rebalancer.rebalance('hot');
    const store = new OrderStore(redis, keys, config);
    const winners: Array<{ orderId: string; userId: string }> = [];
    for (let i = 0; winners.length < 4; i++) {
      const result = await claim(store, 'hot', 2, `u${i}`, `o${i}`);
      if (result.kind === 'started') winners.push({ orderId: `o${i}`, userId: `u${i}` });
      else await rebalancer.rebalance('hot');
    }
    expect(new Set(winners.map((w) => giftBuckets.forUser('hot', 2, w.userId))).size).toBe(2);
    await rebalancer.rebalance('hot');
    const latch = await waitForLatch(keys.giftSoldOutLatch('hot'));
    for (const w of winners) {
      expect(latchRefuses(latch, { orderId: w.orderId, userId: 'someone-new', nowMs: now, isPaused: false })).toBe(false);
      expect(latchRefuses(latch, { orderId: 'new-key', userId: w.userId, nowMs: now, isPaused: false })).toBe(false);
    }
    expect(latchRefuses(latch, { orderId: 'new-key', userId: 'someone-new', nowMs: now, isPaused: false })).toBe(true);
    // A failed delivery gives its unit back: the next pass re-opens the gift (mark and latch gone).
    const [first] = winners;
    expect((await store.move({ ...first, giftId: giftBuckets.forUser('hot', 2, first.userId) }, 'delivering', 'failed', 'claim', { epoch: 1 })).moved).toBe(true);
    await rebalancer.rebalance('hot');
    expect(await redis.exists(keys.giftSoldOutLatch('hot'))).toBe(0);
    expect(await redis.hget(keys.gift('hot'), 'soldOut')).toBe('0');
  });

  it('refill() waits for the pass it asks for (what a claim that found its bucket empty does before a 503)', async () => {
    const { rebalancer, store, usersOfA: [u1, u2] } = await splitInTwo(2);
    expect((await claim(store, 'hot', 2, u1, 'o1')).kind).toBe('started');
    expect(await claim(store, 'hot', 2, u2, 'o2')).toEqual({ kind: 'refused', code: 'REBALANCING' });
    await rebalancer.refill('hot', 5_000);
    expect((await claim(store, 'hot', 2, u2, 'o2')).kind).toBe('started');
    // A pass that cannot run (another holds the lease) is waited for no longer than asked.
    await redis.hset(keys.gift('hot'), 'rebalanceUntil', Date.now() + 60_000);
    const t0 = Date.now();
    await rebalancer.refill('hot', 100);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await rebalancer.stop();
  });

  it('a change of the bucket count, or an inventory below what the buckets hold, is refused', async () => {
    await publish('hot', 10, 3);
    await new BucketRebalancer(redis, keys).rebalance('hot');
    expect(await publish('hot', 10, 4)).toEqual(['buckets', '3']);
    expect(await publish('hot', 9, 3)).toEqual(['below', '10']);
    expect((await publish('hot', 12, 3))[0]).toBe('ok');
    await publish('plain', 5, 1);
    expect(await publish('plain', 5, 2)).toEqual(['buckets', '1']);
  });

  it('lowers a split gift\'s inventory down to what is reserved: unreserved units go back to the pool first', async () => {
    await publish('hot', 30, 3);
    const rebalancer = new BucketRebalancer(redis, keys);
    await rebalancer.rebalance('hot');
    const store = new OrderStore(redis, keys, config);
    for (let i = 0; i < 5; i++) expect((await claim(store, 'hot', 3, `u${i}`, `o${i}`)).kind).toBe('started');
    expect(await publish('hot', 5, 3)).toEqual(['below', '30']);
    const lowered = await rebalancer.withStockInPool('hot', () => publish('hot', 5, 3));
    expect(lowered?.result[0]).toBe('ok');
    await rebalancer.rebalance('hot');
    const stock = (await rebalancer.stock('hot'))!;
    expect({ inventory: stock.inventory, allotted: stock.allotted, held: stock.buckets.reduce((n, b) => n + b.inventory, 0), reserved: stock.buckets.reduce((n, b) => n + b.reserved, 0) })
      .toEqual({ inventory: 5, allotted: 5, held: 5, reserved: 5 });
    expect(await rebalancer.withStockInPool('hot', () => publish('hot', 4, 3))).toEqual({ result: ['below', '5'] });
    // While a pass holds the lease, nothing is moved for the publish: it is told to try again.
    await redis.hset(keys.gift('hot'), 'rebalanceUntil', Date.now() + 60_000);
    expect(await rebalancer.withStockInPool('hot', () => publish('hot', 5, 3))).toBeUndefined();
  });

  // Seeded schedules of claims, releases, clean passes, passes that crash before or after any step,
  // and passes that stall past their lease while another finishes their work; then a last clean
  // pass and claims until SOLD_OUT. Checks: no bucket reserves more than it holds, the gift never
  // sells more than its inventory, no user over the per-user limit, every unit accounted for, and
  // a sold-out gift has nothing left anywhere (no stranded stock).
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: exactly the inventory is sold, whatever the passes do', async (seed) => {
    const rand = prng(seed);
    const count = [2, 3, 5, 9][rand(4)];
    const inventory = 30 + rand(150);
    const perUserLimit = 1 + rand(3);
    const users = Array.from({ length: Math.ceil(inventory / 2) }, (_, i) => `user-${seed}-${i}`);
    const where = `seed ${seed}: ${count} buckets, inventory ${inventory}, perUserLimit ${perUserLimit}`;
    await publish('hot', inventory, count, perUserLimit);
    const clean = new BucketRebalancer(redis, keys);
    await clean.rebalance('hot');
    const store = new OrderStore(redis, keys, config);
    const started: Array<{ orderId: string; userId: string }> = [];
    let next = 0;
    const claimBatch = async (size: number) => {
      await Promise.all(Array.from({ length: size }, async () => {
        const userId = users[rand(users.length)];
        const orderId = `o${next++}`;
        const result = await claim(store, 'hot', count, userId, orderId);
        if (result.kind === 'started') started.push({ orderId, userId });
      }));
    };
    for (let step = 0; step < 40; step++) {
      const action = rand(10);
      if (action < 5) await claimBatch(1 + rand(12));
      else if (action < 6 && started.length) {
        // A delivery failed: its unit goes back to its bucket (also after a sell-out).
        const [order] = started.splice(rand(started.length), 1);
        const ref = { ...order, giftId: giftBuckets.forUser('hot', count, order.userId) };
        expect((await store.move(ref, 'delivering', 'failed', 'claim', { epoch: 1 })).moved).toBe(true);
      } else if (action < 7) await clean.rebalance('hot');
      else if (action < 9) {
        const kind = rand(2) ? 'crash-before' : 'crash-after';
        const crashing = new BucketRebalancer(faulty(redis, { at: 1 + rand(8), kind }), keys);
        await Promise.all([crashing.rebalance('hot').catch(() => 0), claimBatch(rand(6))]);
        await leaseEnds('hot');
      } else {
        let resume!: () => void;
        const stalled = new BucketRebalancer(faulty(redis, { at: 1 + rand(6), kind: 'stall', resume: new Promise<void>((r) => (resume = r)) }), keys);
        const stalledPass = stalled.rebalance('hot').catch(() => 0);
        await new Promise((r) => setTimeout(r, 5));
        await leaseEnds('hot');
        await Promise.all([clean.rebalance('hot'), claimBatch(rand(6))]);
        resume();
        await stalledPass;
      }
      const stock = (await clean.stock('hot'))!;
      for (const b of stock.buckets) expect({ where, step, reserved: b.reserved, over: b.reserved > b.inventory }).toEqual({ where, step, reserved: b.reserved, over: false });
    }
    // Sell out: claims until every user of every bucket hears SOLD_OUT, with passes as the service runs them.
    for (let round = 0; round < 200; round++) {
      await clean.rebalance('hot');
      const answers = await Promise.all(users.map((userId) => claim(store, 'hot', count, userId, `final-${round}-${userId}`)));
      answers.forEach((a, i) => a.kind === 'started' && started.push({ orderId: `final-${round}-${users[i]}`, userId: users[i] }));
      const limited = answers.every((a) => a.kind === 'refused' && (a.code === 'SOLD_OUT' || a.code === 'USER_LIMIT_REACHED'));
      if (limited && answers.some((a) => a.kind === 'refused' && a.code === 'SOLD_OUT')) break;
      if (limited) break; // every user at their limit before the gift sold out
    }
    await clean.rebalance('hot');
    const stock = (await clean.stock('hot'))!;
    const reserved = stock.buckets.reduce((sum, b) => sum + b.reserved, 0);
    const held = stock.buckets.reduce((sum, b) => sum + b.inventory, 0);
    expect({ where, transfersUnderWay: stock.transfersUnderWay, allotted: stock.allotted }).toEqual({ where, transfersUnderWay: 0, allotted: held });
    expect({ where, reserved }).toEqual({ where, reserved: started.length });
    const byUser = new Map<string, number>();
    for (const o of started) byUser.set(o.userId, (byUser.get(o.userId) ?? 0) + 1);
    expect({ where, overLimit: [...byUser].filter(([, n]) => n > perUserLimit) }).toEqual({ where, overLimit: [] });
    // Sold out, or every user at their limit: nothing stranded when it sold out, never oversold.
    expect({ where, oversold: reserved > inventory }).toEqual({ where, oversold: false });
    const atLimit = users.every((u) => (byUser.get(u) ?? 0) >= perUserLimit);
    if (!atLimit) expect({ where, reserved }).toEqual({ where, reserved: inventory });
  }, 60_000);
});
