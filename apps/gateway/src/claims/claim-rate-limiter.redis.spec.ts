import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { CLAIM_RATE_WINDOW_MS, ClaimRateLimiter, claimRateScript } from './claim-rate-limiter.js';

type FakeClockRedis = Redis & { claimRateAt(key: string, limit: number, orderId: string, windowMs: number, nowMs: number): Promise<[number, number, number]> };

// The limiter's script on a real Redis. The window algorithm runs with a fake clock (the same Lua,
// `now` from ARGV instead of Redis TIME), so boundaries are exact and a loaded machine cannot move them.
describe('ClaimRateLimiter on Redis', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let fake: FakeClockRedis;
  let keys: RedisKeys;

  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url, { enableAutoPipelining: true });
    fake = new Redis(testRedis.url) as FakeClockRedis;
    fake.defineCommand('claimRateAt', { numberOfKeys: 1, lua: claimRateScript('argv') });
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
  });
  afterAll(async () => {
    await deletePrefix(testRedis.url, keys.prefix);
    redis.disconnect();
    fake.disconnect();
    await testRedis.stop();
  });

  const logKey = () => `${keys.prefix}:{u:${randomUUID()}}:claim-window`;
  const at = (key: string, limit: number, orderId: string, nowMs: number) => fake.claimRateAt(key, limit, orderId, CLAIM_RATE_WINDOW_MS, nowMs);

  it('lets no 2x burst through across a second boundary (the fixed window let 10 through in 2 ms)', async () => {
    const key = logKey();
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await at(key, 5, `a${i}`, 10_999));
    expect(first.map((r) => r[0])).toEqual([1, 1, 1, 1, 1]);
    // 2 ms later, in the next calendar second: every new key is refused, told to wait until the
    // first five leave the window at 11,999.
    const second = [];
    for (let i = 0; i < 5; i++) second.push(await at(key, 5, `b${i}`, 11_001));
    expect(second).toEqual(Array.from({ length: 5 }, () => [0, 998, 0]));
    expect(await at(key, 5, 'b0', 11_998)).toEqual([0, 1, 0]);
    expect(await at(key, 5, 'b0', 11_999)).toEqual([1, 0, 1]);
  });

  it('never lets more than the limit through in any one-second window under a steady stream of new keys', async () => {
    const key = logKey();
    const admitted: number[] = [];
    for (let t = 50_000; t < 53_000; t += 7) {
      const [allowed] = await at(key, 5, `k${t}`, t);
      if (allowed === 1) admitted.push(t);
    }
    // Every admitted claim, with the ones admitted in the second before it: never more than 5.
    const worst = Math.max(...admitted.map((t) => admitted.filter((s) => s > t - CLAIM_RATE_WINDOW_MS && s <= t).length));
    expect(worst).toBe(5);
    // And the limit is used: 3 s of demand get 3 windows' worth (the first five at once, then as slots free).
    expect(admitted.length).toBeGreaterThanOrEqual(15);
    expect(admitted.length).toBeLessThanOrEqual(16);
  });

  it('answers the wait until the oldest counted claim leaves the window', async () => {
    const key = logKey();
    expect(await at(key, 2, 'x1', 1_000)).toEqual([1, 0, 1]);
    expect(await at(key, 2, 'x2', 1_400)).toEqual([1, 0, 1]);
    expect(await at(key, 2, 'x3', 1_500)).toEqual([0, 500, 0]);
    expect(await at(key, 2, 'x3', 2_000)).toEqual([1, 0, 1]); // x1 left the window
    expect(await at(key, 2, 'x4', 2_100)).toEqual([0, 300, 0]); // x2 leaves at 2,400
  });

  it('counts a key once: a repeat still in the window is let through and not counted', async () => {
    const key = logKey();
    for (let i = 0; i < 10; i++) expect(await at(key, 2, 'same', 5_000 + i)).toEqual([1, 0, i === 0 ? 1 : 0]);
    expect(await at(key, 2, 'other', 5_020)).toEqual([1, 0, 1]);
    expect((await at(key, 2, 'third', 5_030))[0]).toBe(0);
    expect(await fake.zcard(key)).toBe(2);
    expect(await fake.pttl(key)).toBeGreaterThan(1_000);
  });

  // Regression: the script used to be defined on the first check, after its EXISTS answered. A
  // batch another request had started in between did not know the script: the call added to it
  // failed ("pipeline[functionName] is not a function") and ioredis then threw in a callback, which
  // killed the gateway on its first concurrent claims (seen on Redis Cluster in bench/cluster).
  // Also the production script on Redis's own clock, through auto-pipelining as the gateway uses it.
  it('runs a first check while another request\'s batch is still being filled', async () => {
    const limiter = new ClaimRateLimiter(redis, keys, 3);
    // One batch: [GET a, EXISTS order]. Their callbacks run in that order, so the other request's
    // next command starts a new batch just before the check's continuation calls the script.
    const otherRequest = redis.get(`${keys.prefix}:a`).then(() => redis.get(`${keys.prefix}:b`));
    const checks = Array.from({ length: 4 }, (_, i) => limiter.check('user-1', `key-${i}`).then(() => 'ok', (err: { code?: string; retryAfterS?: number }) => `${err.code ?? String(err)} ${err.retryAfterS}`));
    await otherRequest;
    expect(await Promise.all(checks)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED 1']);
  });

  it('does not count a repeat of a key whose order exists, with room in the window or without, and keeps its first claim counted', async () => {
    const limiter = new ClaimRateLimiter(redis, keys, 2);
    const user = `user-${randomUUID()}`;
    const log = `${keys.prefix}:{u:${user}}:claim-window`;
    const bind = (orderId: string) => redis.hset(keys.orderBinding(orderId), 'orderId', orderId, 'userId', user);
    const outcome = (orderId: string) => limiter.check(user, orderId).then(() => 'ok', (err: { code?: string }) => err.code);
    expect(await outcome('first')).toBe('ok');
    await bind('first');
    // Its repeat: let through; the first claim's entry stays counted.
    expect(await outcome('first')).toBe('ok');
    expect(await redis.zrange(log, '0', '-1')).toEqual(['first']);
    // A repeat of an older order (its entry left the window long ago): let through, not counted.
    await bind('older');
    expect(await outcome('older')).toBe('ok');
    expect(await redis.zrange(log, '0', '-1')).toEqual(['first']);
    // The window's room is still there for one new key, then full; a repeat still goes through.
    expect(await outcome('second')).toBe('ok');
    expect(await outcome('third')).toBe('RATE_LIMITED');
    expect(await outcome('older')).toBe('ok');
    expect((await redis.zrange(log, '0', '-1')).sort()).toEqual(['first', 'second']);
  });
});
