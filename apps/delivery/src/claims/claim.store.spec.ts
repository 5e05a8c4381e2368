import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { ClaimStore } from './claim.store.js';

// The claim scripts run against a real Redis: the rules live in Lua, so that is what is tested.
describe('ClaimStore scripts', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let keys: RedisKeys;
  let store: ClaimStore;
  const now = Date.parse('2026-06-01T12:00:00Z');
  const day = '2026-06-01';
  const opts = { nowMs: now, day, uncertainLimit: 2, paused: false };

  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url);
  });
  beforeEach(() => {
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
    store = new ClaimStore(redis, keys);
  });
  afterEach(async () => deletePrefix(testRedis.url, keys.prefix));
  afterAll(async () => {
    redis.disconnect();
    await testRedis.stop();
  });

  async function gift(giftId: string, fields: Partial<Record<string, string | number>> = {}) {
    await redis.hset(keys.gift(giftId), {
      activityId: 'a1', name: 'Skin', inventory: 10, reserved: 0, dailyLimit: 0, perUserLimit: 1, delivery: 'sync',
      providerUrl: 'http://127.0.0.1:7001', orderNumbers: '1', startsAtMs: now - 1000, endsAtMs: now + 1000, ...fields,
    });
  }

  describe('bind', () => {
    it('creates once, then reports the existing order', async () => {
      expect(await store.bind('o1', 'u1', 'g1', now)).toEqual({ kind: 'new', createdAtMs: now });
      expect(await store.bind('o1', 'u1', 'g1', now + 5)).toEqual({ kind: 'existing', status: 'new', createdAtMs: now });
    });
    it('refuses the same key for another user or another gift', async () => {
      await store.bind('o1', 'u1', 'g1', now);
      expect(await store.bind('o1', 'u2', 'g1', now)).toEqual({ kind: 'reused' });
      expect(await store.bind('o1', 'u1', 'g2', now)).toEqual({ kind: 'reused' });
    });
  });

  describe('reserve', () => {
    it('reserves and counts inventory, day and user; a repeat of the same order counts nothing', async () => {
      await gift('g1', { perUserLimit: 5 });
      const first = await store.reserve('o1', 'u1', 'g1', opts);
      expect(first).toMatchObject({ kind: 'reserved', gift: { activityId: 'a1', delivery: 'sync', orderNumbers: true, day } });
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual(first);
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('1');
      expect(await redis.get(keys.giftDay('g1', day))).toBe('1');
      expect(await redis.hget(keys.giftUser('g1', 'u1'), 'claimed')).toBe('1');
    });

    it.each([
      ['before the window', { startsAtMs: now + 1 }, false, 'NOT_ACTIVE'],
      ['at the end of the window', { endsAtMs: now }, false, 'NOT_ACTIVE'],
      ['when paused', {}, true, 'NOT_ACTIVE'],
      ['when sold out', { inventory: 0 }, false, 'SOLD_OUT'],
    ])('refuses %s', async (_name, fields, paused, code) => {
      await gift('g1', fields);
      expect(await store.reserve('o1', 'u1', 'g1', { ...opts, paused })).toEqual({ kind: 'refused', code });
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('0');
    });

    it('refuses an unknown gift', async () => {
      expect(await store.reserve('o1', 'u1', 'g9', opts)).toEqual({ kind: 'refused', code: 'NOT_FOUND' });
    });

    it('enforces the per-user limit', async () => {
      await gift('g1', { perUserLimit: 2 });
      await store.reserve('o1', 'u1', 'g1', opts);
      await store.reserve('o2', 'u1', 'g1', opts);
      expect(await store.reserve('o3', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'USER_LIMIT_REACHED' });
      expect(await store.reserve('o4', 'u2', 'g1', opts)).toMatchObject({ kind: 'reserved' });
    });

    it('enforces the daily limit per UTC day', async () => {
      await gift('g1', { dailyLimit: 1, perUserLimit: 5 });
      await store.reserve('o1', 'u1', 'g1', opts);
      expect(await store.reserve('o2', 'u2', 'g1', opts)).toEqual({ kind: 'refused', code: 'DAILY_LIMIT_REACHED' });
      const tomorrow = { ...opts, nowMs: now + 86_400_000 - 1, day: '2026-06-02' };
      await gift('g1', { dailyLimit: 1, perUserLimit: 5, endsAtMs: now + 2 * 86_400_000, reserved: 1 });
      expect(await store.reserve('o2', 'u2', 'g1', tomorrow)).toMatchObject({ kind: 'reserved' });
    });

    it('refuses a user at the uncertain limit', async () => {
      await gift('g1', { perUserLimit: 5 });
      await store.countUncertain('g1', 'u1');
      await store.countUncertain('g1', 'u1');
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'TOO_MANY_UNCERTAIN' });
    });

    it('reports the first refusal in the contract order', async () => {
      // Everything applies at once: not active wins; then user limit before uncertain, sold out, daily.
      await gift('g1', { inventory: 1, reserved: 1, dailyLimit: 1, perUserLimit: 1, startsAtMs: now + 1 });
      await redis.hset(keys.giftUser('g1', 'u1'), 'claimed', 1, 'uncertain', 5);
      await redis.set(keys.giftDay('g1', day), 1);
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'NOT_ACTIVE' });
      await redis.hset(keys.gift('g1'), 'startsAtMs', now - 1);
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'USER_LIMIT_REACHED' });
      await redis.hset(keys.giftUser('g1', 'u1'), 'claimed', 0);
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'TOO_MANY_UNCERTAIN' });
      await redis.hset(keys.giftUser('g1', 'u1'), 'uncertain', 0);
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'SOLD_OUT' });
      await redis.hset(keys.gift('g1'), 'inventory', 5);
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'refused', code: 'DAILY_LIMIT_REACHED' });
    });

    it('never oversells under concurrent reservations', async () => {
      await gift('g1', { inventory: 25 });
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.reserve(`o${i}`, `u${i}`, 'g1', opts)),
      );
      expect(results.filter((r) => r.kind === 'reserved')).toHaveLength(25);
      expect(results.filter((r) => r.kind === 'refused' && r.code === 'SOLD_OUT')).toHaveLength(175);
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('25');
    });
  });

  describe('release', () => {
    it('gives inventory, day and user counts back once', async () => {
      await gift('g1');
      await store.reserve('o1', 'u1', 'g1', opts);
      expect(await store.release('o1', 'u1', 'g1', day)).toBe(true);
      expect(await store.release('o1', 'u1', 'g1', day)).toBe(false);
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('0');
      expect(await redis.get(keys.giftDay('g1', day))).toBe('0');
      expect(await redis.hget(keys.giftUser('g1', 'u1'), 'claimed')).toBe('0');
      expect(await store.reserve('o1', 'u1', 'g1', opts)).toEqual({ kind: 'released' });
    });
    it('releases nothing for an order never reserved', async () => {
      await gift('g1');
      expect(await store.release('o9', 'u1', 'g1', day)).toBe(false);
      expect(await redis.hget(keys.gift('g1'), 'reserved')).toBe('0');
    });
  });

  describe('transition', () => {
    it('moves only from an expected status', async () => {
      await store.bind('o1', 'u1', 'g1', now);
      expect(await store.transition('o1', ['reserved'], 'delivering', { nowMs: now })).toEqual({ moved: false, status: 'new' });
      expect(await store.transition('o1', ['new'], 'reserved', { nowMs: now, fields: { activityId: 'a1' } })).toEqual({ moved: true, status: 'reserved' });
      expect(await store.transition('o1', ['reserved'], 'delivering', { nowMs: now + 5, attemptsDelta: 1, error: 'x' })).toEqual({ moved: true, status: 'delivering' });
      const record = await store.orderRecord('o1');
      expect(record).toMatchObject({ status: 'delivering', attempts: '1', error: 'x', activityId: 'a1', updatedAtMs: String(now + 5) });
    });
    it('lets exactly one of many concurrent callers win', async () => {
      await store.bind('o1', 'u1', 'g1', now);
      await store.transition('o1', ['new'], 'reserved', { nowMs: now });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.transition('o1', ['reserved'], 'delivering', { nowMs: now })));
      expect(results.filter((r) => r.moved)).toHaveLength(1);
    });
  });
});
