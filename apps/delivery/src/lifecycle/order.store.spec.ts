import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';
import { redisPerTest } from '../../../../test/support/redis.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { OrderBindingStore } from './order-binding.store.js';
import { OrderStore } from './order.store.js';
import { RetiredNumbers } from './retired-numbers.js';
import { IllegalTransitionError } from './order-transitions.js';

// The lifecycle scripts run against a real Redis: the rules live in Lua, so that is what is tested.
describe('order lifecycle scripts', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  let bindings: OrderBindingStore;
  const now = Date.parse('2026-06-01T12:00:00Z');
  const day = '2026-06-01';
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400 } as DeliveryConfig;
  const start = (orderId: string, userId = 'u1', giftId = 'g1', extra: Partial<{ paused: boolean; forceAsync: boolean; nowMs: number; day: string }> = {}) =>
    store.start({ orderId, userId, giftId }, { nowMs: now, day, createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false, ...extra });
  const ref = (orderId: string, userId = 'u1', giftId = 'g1') => ({ orderId, userId, giftId });

  beforeEach(() => {
    ({ redis, keys } = spec);
    store = new OrderStore(redis, keys, config);
    bindings = new OrderBindingStore(redis, keys, new RetiredNumbers(keys));
  });

  async function gift(giftId: string, fields: Partial<Record<string, string | number>> = {}) {
    await redis.hset(keys.gift(giftId), {
      activityId: 'a1', name: 'Skin', inventory: 10, reserved: 0, dailyLimit: 0, perUserLimit: 1, delivery: 'sync',
      providerUrl: 'http://127.0.0.1:7001', orderNumbers: '1', startsAtMs: now - 1000, endsAtMs: now + 1000, ...fields,
    });
  }
  const counts = async (giftId = 'g1', userId = 'u1') => ({
    reserved: await redis.hget(keys.gift(giftId), 'reserved'),
    today: await redis.get(keys.giftDay(giftId, day)),
    claimed: await redis.hget(keys.giftUser(giftId, userId), 'claimed'),
    uncertain: (await redis.hget(keys.giftUser(giftId, userId), 'uncertain')) ?? '0',
  });

  describe('bind', () => {
    it('creates once, then reports the existing binding', async () => {
      // No retired-number filter here: the number may be retired, the binding waits for the archive's answer.
      expect(await bindings.bind(ref('o1'), now)).toEqual({ kind: 'new', createdAtMs: now, retired: 'unknown' });
      expect(await bindings.bind(ref('o1'), now + 5)).toEqual({ kind: 'existing', createdAtMs: now, ask: true });
      await bindings.asked('o1');
      expect(await bindings.bind(ref('o1'), now + 6)).toEqual({ kind: 'existing', createdAtMs: now, ask: false });
      expect(await bindings.binding('o1')).toEqual(ref('o1'));
    });
    it('refuses the same key for another user or another gift', async () => {
      await bindings.bind(ref('o1'), now);
      expect(await bindings.bind(ref('o1', 'u2'), now)).toEqual({ kind: 'reused' });
      expect(await bindings.bind(ref('o1', 'u1', 'g2'), now)).toEqual({ kind: 'reused' });
    });
  });

  describe('start (none -> delivering | queued | refused)', () => {
    it('reserves and counts inventory, day and user; a repeat changes nothing and sees the state', async () => {
      await gift('g1', { perUserLimit: 5 });
      const first = await start('o1');
      expect(first).toEqual({ kind: 'started', status: 'delivering', epoch: 1, target: { providerUrl: 'http://127.0.0.1:7001', orderNumbers: true }, sentMarked: false });
      expect(await start('o1')).toEqual({ ...first, kind: 'existing' });
      expect(await counts()).toEqual({ reserved: '1', today: '1', claimed: '1', uncertain: '0' });
      expect(await store.state('g1', 'o1')).toMatchObject({ status: 'delivering', epoch: 1, attempts: 1, version: 1, activityId: 'a1', reservedDay: day });
      expect(await redis.zscore(keys.giftOpenOrders('g1'), 'o1')).not.toBeNull();
    });

    it('queues an async gift, and any gift while forceAsync is on (read once by the caller)', async () => {
      await gift('g1', { perUserLimit: 5 });
      await gift('g2', { perUserLimit: 5, delivery: 'async' });
      expect(await start('o1', 'u1', 'g1', { forceAsync: true })).toMatchObject({ kind: 'started', status: 'queued', epoch: 0 });
      expect(await start('o2', 'u1', 'g2')).toMatchObject({ kind: 'started', status: 'queued', epoch: 0 });
    });

    it.each([
      ['before the window', { startsAtMs: now + 1 }, false, 'NOT_ACTIVE'],
      ['at the end of the window', { endsAtMs: now }, false, 'NOT_ACTIVE'],
      ['when paused', {}, true, 'NOT_ACTIVE'],
      ['when sold out', { inventory: 0 }, false, 'SOLD_OUT'],
    ])('refuses %s, and a repeat gets the same refusal', async (_name, fields, paused, code) => {
      await gift('g1', fields);
      expect(await start('o1', 'u1', 'g1', { paused })).toEqual({ kind: 'refused', code });
      await gift('g1', {}); // the rule no longer applies: the stored refusal still answers
      expect(await start('o1')).toEqual({ kind: 'refused', code });
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('0');
      expect(await redis.ttl(keys.orderState('g1', 'o1'))).toBeGreaterThan(86_000);
    });

    it("records a sync claim's send with its start when asked; never an async one's, a repeat's or, behind a fence, one without order numbers", async () => {
      await gift('g1', { perUserLimit: 5 });
      const opts = { nowMs: now, day, createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false };
      const sentEpoch = (orderId: string) => redis.hget(keys.orderState('g1', orderId), 'sentEpoch');
      expect(await store.start(ref('o1'), { ...opts, sendRecord: 'always' })).toMatchObject({ kind: 'started', status: 'delivering', epoch: 1, sentMarked: true });
      expect(await sentEpoch('o1')).toBe('1');
      expect(await store.start(ref('o1'), { ...opts, sendRecord: 'always' })).toMatchObject({ kind: 'existing', sentMarked: false });
      expect(await store.start(ref('o2'), { ...opts, forceAsync: true, sendRecord: 'always' })).toMatchObject({ kind: 'started', status: 'queued', sentMarked: false });
      expect(await sentEpoch('o2')).toBe('0');
      expect(await store.start(ref('o3'), { ...opts, sendRecord: 'with-order-numbers' })).toMatchObject({ status: 'delivering', sentMarked: true });
      await redis.hset(keys.gift('g1'), 'orderNumbers', '0');
      expect(await store.start(ref('o4'), { ...opts, sendRecord: 'with-order-numbers' })).toMatchObject({ status: 'delivering', sentMarked: false });
      expect(await sentEpoch('o4')).toBe('0');
      expect(await store.start(ref('o5'), opts)).toMatchObject({ status: 'delivering', sentMarked: false });
    });

    it('refuses an unknown gift without storing anything', async () => {
      expect(await start('o1', 'u1', 'g9')).toEqual({ kind: 'refused', code: 'NOT_FOUND' });
      expect(await redis.exists(keys.orderState('g9', 'o1'))).toBe(0);
    });

    it('enforces the per-user limit and the daily limit', async () => {
      await gift('g1', { perUserLimit: 2, dailyLimit: 3 });
      await start('o1');
      await start('o2');
      expect(await start('o3')).toEqual({ kind: 'refused', code: 'USER_LIMIT_REACHED' });
      await start('o4', 'u2');
      expect(await start('o5', 'u3')).toEqual({ kind: 'refused', code: 'DAILY_LIMIT_REACHED' });
    });

    it('reports the first refusal in the contract order', async () => {
      await gift('g1', { inventory: 1, reserved: 1, dailyLimit: 1, perUserLimit: 1, startsAtMs: now + 1 });
      await redis.hset(keys.giftUser('g1', 'u1'), 'claimed', 1, 'uncertain', 5);
      await redis.set(keys.giftDay('g1', day), 1);
      const codes: string[] = [];
      const next = async (orderId: string) => {
        const result = await start(orderId);
        codes.push(result.kind === 'refused' ? result.code : result.kind);
      };
      await next('o1');
      await redis.hset(keys.gift('g1'), 'startsAtMs', now - 1);
      await next('o2');
      await redis.hset(keys.giftUser('g1', 'u1'), 'claimed', 0);
      await next('o3');
      await redis.hset(keys.giftUser('g1', 'u1'), 'uncertain', 0);
      await next('o4');
      await redis.hset(keys.gift('g1'), 'inventory', 5);
      await next('o5');
      expect(codes).toEqual(['NOT_ACTIVE', 'USER_LIMIT_REACHED', 'TOO_MANY_UNCERTAIN', 'SOLD_OUT', 'DAILY_LIMIT_REACHED']);
    });

    it('never oversells under concurrent claims', async () => {
      await gift('g1', { inventory: 25 });
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => start(`o${i}`, `u${i}`)));
      expect(results.filter((r) => r.kind === 'started')).toHaveLength(25);
      expect(results.filter((r) => r.kind === 'refused' && r.code === 'SOLD_OUT')).toHaveLength(175);
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('25');
    });
  });

  describe('fenced attempts', () => {
    beforeEach(() => gift('g1', { perUserLimit: 5, delivery: 'async' }));

    it('take advances the epoch once: of concurrent takers exactly one wins', async () => {
      await start('o1');
      const results = await Promise.all(Array.from({ length: 10 }, () => store.take(ref('o1'), 'queued', 0, 'worker', { sentTakeover: false })));
      expect(results.filter((r) => r.taken)).toEqual([{ taken: true, epoch: 1 }]);
      expect(results.filter((r) => !r.taken).every((r) => !r.taken && r.why === 'moved')).toBe(true);
    });

    it("a job's one-step take: only an unsent queued order of a gift with a provider, once, with what the job needs", async () => {
      await start('o1');
      const results = await Promise.all(Array.from({ length: 10 }, () => store.takeUnsent(ref('o1'), 'worker')));
      expect(results.filter(Boolean)).toEqual([{ epoch: 1, createdAtMs: now, target: { providerUrl: 'http://127.0.0.1:7001', orderNumbers: true }, sentMarked: false }]);
      expect(await redis.hget(keys.orderState('g1', 'o1'), 'status')).toBe('delivering');
      // Delivering, and later queued again after a send: the job must read the order and decide.
      expect(await store.takeUnsent(ref('o1'), 'worker')).toBeUndefined();
      expect(await store.hold(ref('o1'), 1, { markSent: true })).toBe(true);
      expect(await store.move(ref('o1'), 'delivering', 'queued', 'worker', { epoch: 1, fields: { maybeDelivered: '1' } })).toMatchObject({ moved: true });
      expect(await store.takeUnsent(ref('o1'), 'worker')).toBeUndefined();
      expect(await store.take(ref('o1'), 'queued', 1, 'worker', { sentTakeover: true })).toEqual({ taken: true, epoch: 2 });
      // Queued again without a send (the call never went out): the one-step take applies.
      await start('o2');
      await store.take(ref('o2'), 'queued', 0, 'worker', { sentTakeover: false });
      expect(await store.move(ref('o2'), 'delivering', 'queued', 'worker', { epoch: 1 })).toMatchObject({ moved: true });
      expect(await store.takeUnsent(ref('o2'), 'worker')).toMatchObject({ epoch: 2 });
      // A gift no longer naming a provider, and an order that does not exist.
      await start('o3');
      await redis.hdel(keys.gift('g1'), 'providerUrl');
      expect(await store.takeUnsent(ref('o3'), 'worker')).toBeUndefined();
      expect(await redis.hget(keys.orderState('g1', 'o3'), 'status')).toBe('queued');
      expect(await store.takeUnsent(ref('nope'), 'worker')).toBeUndefined();
    });

    it("a job's one-step take records the send when asked (sent at once), and the attempt can clear it again", async () => {
      const sentEpoch = (orderId: string) => redis.hget(keys.orderState('g1', orderId), 'sentEpoch');
      await start('o1');
      expect(await store.takeUnsent(ref('o1'), 'worker', 'with-order-numbers')).toMatchObject({ epoch: 1, sentMarked: true });
      expect(await sentEpoch('o1')).toBe('1');
      // The call would have to wait for a slot: the attempt clears the take's record (and records its own just before the call).
      expect(await store.hold(ref('o1'), 1, { markSent: false, unmarkSent: true })).toBe(true);
      expect(await sentEpoch('o1')).toBe('0');
      // Behind a durability fence a provider without order numbers is not recorded at the take: its record goes with the WAIT.
      await redis.hset(keys.gift('g1'), 'orderNumbers', '0');
      await start('o2');
      expect(await store.takeUnsent(ref('o2'), 'worker', 'with-order-numbers')).toMatchObject({ epoch: 1, sentMarked: false });
      expect(await sentEpoch('o2')).toBe('0');
      // Without a fence it is; a call that was then not sent requeues the order unrecorded, and the next job's one-step take applies again.
      await start('o3');
      expect(await store.takeUnsent(ref('o3'), 'worker', 'always')).toMatchObject({ epoch: 1, sentMarked: true });
      expect(await store.move(ref('o3'), 'delivering', 'queued', 'worker', { epoch: 1, fields: { sentEpoch: '0' } })).toMatchObject({ moved: true });
      expect(await store.takeUnsent(ref('o3'), 'worker', 'never')).toMatchObject({ epoch: 2, sentMarked: false });
      expect(await sentEpoch('o3')).toBe('0');
      // An attempt that lost its order clears nothing.
      expect(await store.hold(ref('o1'), 7, { markSent: false, unmarkSent: true })).toBe(false);
    });

    it('a running attempt keeps its order: no takeover while the lease runs', async () => {
      await start('o1');
      await store.take(ref('o1'), 'queued', 0, 'worker', { sentTakeover: true });
      expect(await store.take(ref('o1'), 'delivering', 1, 'worker', { sentTakeover: true })).toEqual({ taken: false, status: 'delivering', epoch: 1, why: 'leased' });
    });

    it('after the lease ends, an unsent attempt is taken over and the old one can neither send nor commit', async () => {
      await start('o1');
      await store.take(ref('o1'), 'queued', 0, 'worker', { sentTakeover: false });
      await redis.zadd(keys.giftOpenOrders('g1'), 0, 'o1'); // the lease ended (its process stalled)
      expect(await store.take(ref('o1'), 'delivering', 1, 'worker', { sentTakeover: false })).toEqual({ taken: true, epoch: 2 });
      expect(await store.hold(ref('o1'), 1, { markSent: true })).toBe(false);
      expect(await store.move(ref('o1'), 'delivering', 'delivered', 'worker', { epoch: 1 })).toEqual({ moved: false, status: 'delivering', epoch: 2 });
      expect(await store.hold(ref('o1'), 2, { markSent: true })).toBe(true);
      expect(await store.move(ref('o1'), 'delivering', 'delivered', 'worker', { epoch: 2 })).toMatchObject({ moved: true });
    });

    it('a sent attempt whose lease ended is taken over only for a provider with order numbers', async () => {
      await start('o1');
      await store.take(ref('o1'), 'queued', 0, 'worker', { sentTakeover: false });
      expect(await store.hold(ref('o1'), 1, { markSent: true })).toBe(true);
      await redis.zadd(keys.giftOpenOrders('g1'), 0, 'o1');
      expect(await store.take(ref('o1'), 'delivering', 1, 'worker', { sentTakeover: false })).toEqual({ taken: false, status: 'delivering', epoch: 1, why: 'sent' });
      expect(await store.take(ref('o1'), 'delivering', 1, 'worker', { sentTakeover: true })).toEqual({ taken: true, epoch: 2 });
    });

    it('a recovery that needs the lease to have ended does nothing while it runs', async () => {
      await start('o1');
      await store.take(ref('o1'), 'queued', 0, 'worker', { sentTakeover: false });
      expect(await store.move(ref('o1'), 'delivering', 'queued', 'sweeper', { epoch: 1, leaseEnded: true })).toEqual({ moved: false, status: 'delivering', epoch: 1 });
      await redis.zadd(keys.giftOpenOrders('g1'), 0, 'o1');
      expect(await store.move(ref('o1'), 'delivering', 'queued', 'sweeper', { epoch: 1, leaseEnded: true })).toMatchObject({ moved: true });
    });
  });

  describe('moves and their effects', () => {
    beforeEach(() => gift('g1', { perUserLimit: 5, inventory: 1 }));

    it('failed releases the reservation once, in the same step', async () => {
      await start('o1');
      expect(await store.move(ref('o1'), 'delivering', 'failed', 'claim', { epoch: 1, reason: 'provider answered 422' })).toMatchObject({ moved: true });
      expect(await counts()).toEqual({ reserved: '0', today: '0', claimed: '0', uncertain: '0' });
      expect(await store.move(ref('o1'), 'delivering', 'failed', 'claim', { epoch: 1 })).toEqual({ moved: false, status: 'failed', epoch: 1 });
      expect(await counts()).toMatchObject({ reserved: '0' });
      expect(await redis.zscore(keys.giftOpenOrders('g1'), 'o1')).toBeNull();
    });

    it('uncertain counts the user; resolving uncounts it (delivered keeps the unit, failed releases it)', async () => {
      await gift('g1', { perUserLimit: 5, inventory: 5 });
      await start('o1');
      await start('o2');
      await store.move(ref('o1'), 'delivering', 'uncertain', 'claim', { epoch: 1 });
      await store.move(ref('o2'), 'delivering', 'uncertain', 'claim', { epoch: 1 });
      expect(await counts()).toMatchObject({ reserved: '2', uncertain: '2' });
      await store.move(ref('o1'), 'uncertain', 'delivered', 'operator');
      await store.move(ref('o2'), 'uncertain', 'failed', 'operator');
      expect(await counts()).toMatchObject({ reserved: '1', claimed: '1', uncertain: '0' });
    });

    it('keeps the operators\' indexes in the gift\'s slot: every started order by creation time, the uncertain ones, the delivered count', async () => {
      await gift('g1', { perUserLimit: 5, inventory: 5 });
      await start('o1');
      await store.start(ref('o2'), { nowMs: now, day, createdAtMs: now + 7, uncertainLimit: 2, paused: false, forceAsync: false });
      await gift('g1', { perUserLimit: 5, inventory: 5, endsAtMs: now - 1 });
      await start('o3'); // refused (the window closed): not an order, not listed
      expect(await redis.zrange(keys.giftOrders('g1'), '0', '-1', 'WITHSCORES')).toEqual(['o1', String(now), 'o2', String(now + 7)]);
      await store.move(ref('o1'), 'delivering', 'uncertain', 'claim', { epoch: 1 });
      await store.move(ref('o2'), 'delivering', 'uncertain', 'claim', { epoch: 1 });
      expect(await redis.zrange(keys.giftUncertainOrders('g1'), '0', '-1', 'WITHSCORES')).toEqual(['o1', String(now), 'o2', String(now + 7)]);
      await store.move(ref('o1'), 'uncertain', 'delivered', 'operator');
      await store.move(ref('o2'), 'uncertain', 'failed', 'operator');
      expect(await redis.zcard(keys.giftUncertainOrders('g1'))).toBe(0);
      expect(await redis.zcard(keys.giftOrders('g1'))).toBe(2);
      expect(await redis.hget(keys.gift('g1'), 'delivered')).toBe('1');
      for (const key of [keys.giftOrders('g1'), keys.giftUncertainOrders('g1')]) expect(key.startsWith(keys.giftSlot('g1'))).toBe(true);
    });

    it('of concurrent resolves exactly one wins, and the count moves once', async () => {
      await start('o1');
      await store.move(ref('o1'), 'delivering', 'uncertain', 'claim', { epoch: 1 });
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => store.move(ref('o1'), 'uncertain', 'delivered', 'operator')),
        ...Array.from({ length: 5 }, () => store.move(ref('o1'), 'uncertain', 'failed', 'operator')),
      ]);
      expect(results.filter((r) => r.moved)).toHaveLength(1);
      expect(await counts()).toMatchObject({ uncertain: '0' });
    });

    it('re-queueing a failed order takes a unit back under the claim rules, or is refused with nothing changed', async () => {
      await start('o1');
      await store.move(ref('o1'), 'delivering', 'failed', 'worker', { epoch: 1 });
      await gift('g1', { perUserLimit: 1, inventory: 2 });
      await start('o3'); // the user claimed again up to the limit
      expect(await store.move(ref('o1'), 'failed', 'queued', 'operator')).toEqual({ moved: false, refused: 'USER_LIMIT_REACHED' });
      await store.move(ref('o3'), 'delivering', 'failed', 'worker', { epoch: 1 });
      await gift('g1', { perUserLimit: 5, inventory: 1 });
      await start('o2', 'u2'); // takes the only unit
      expect(await store.move(ref('o1'), 'failed', 'queued', 'operator')).toEqual({ moved: false, refused: 'SOLD_OUT' });
      expect((await store.state('g1', 'o1'))?.status).toBe('failed');
      await store.move(ref('o2', 'u2'), 'delivering', 'failed', 'worker', { epoch: 1 });
      expect(await store.move(ref('o1'), 'failed', 'queued', 'operator')).toMatchObject({ moved: true });
      expect(await counts()).toMatchObject({ reserved: '1', claimed: '1' });
    });

    it('refuses a move the transition table does not have, before touching Redis', async () => {
      await start('o1');
      await expect(store.move(ref('o1'), 'delivering', 'delivered', 'operator')).rejects.toThrow(IllegalTransitionError);
      await expect(store.move(ref('o1'), 'failed', 'delivered', 'worker')).rejects.toThrow(IllegalTransitionError);
    });

    it('records each change in the history with its actor, and announces it with its version', async () => {
      const sub = redis.duplicate();
      const seen: string[] = [];
      await sub.subscribe(keys.orderEvents('o1'));
      sub.on('message', (_channel, message: string) => seen.push(message));
      await start('o1');
      await store.move(ref('o1'), 'delivering', 'queued', 'claim', { epoch: 1, reason: 'provider answered 503' });
      await store.take(ref('o1'), 'queued', 1, 'worker', { sentTakeover: true });
      await store.move(ref('o1'), 'delivering', 'delivered', 'worker', { epoch: 2 });
      const history = await store.history('g1', 'o1');
      expect(history.map((h) => [h.status, h.actor])).toEqual([['delivering', 'claim'], ['queued', 'claim'], ['delivering', 'worker'], ['delivered', 'worker']]);
      expect(history[1].reason).toBe('provider answered 503');
      for (let i = 0; i < 50 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual(['1|delivering', '2|queued', '3|delivering', '4|delivered']);
      sub.disconnect();
    });
  });
});
