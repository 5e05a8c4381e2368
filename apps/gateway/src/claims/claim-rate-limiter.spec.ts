import { RedisKeys } from '@app/contracts';
import type { Redis } from 'ioredis';
import { ClaimRateLimiter, retryAfterSeconds } from './claim-rate-limiter.js';

/**
 * The limiter's TypeScript side with a stand-in for Redis: which calls it makes and how it maps the
 * script's answer. The window algorithm itself is the Lua script, tested on a real Redis with a
 * fake clock in claim-rate-limiter.redis.spec.ts.
 */
function fakeRedis(existing: Set<string>, answers: Array<[number, number, number]>) {
  const calls: Array<{ key: string; limit: number; orderId: string; windowMs: number }> = [];
  const removed: Array<[string, string]> = [];
  const redis = {
    exists: async (key: string) => (existing.has(key) ? 1 : 0),
    defineCommand: jest.fn(),
    claimRateLimit: async (key: string, limit: number, orderId: string, windowMs: number) => {
      calls.push({ key, limit, orderId, windowMs });
      return answers.shift() ?? [1, 0, 1];
    },
    zrem: async (key: string, member: string) => removed.push([key, member]),
  };
  return { redis: redis as unknown as Redis, calls, removed };
}

describe('ClaimRateLimiter', () => {
  const keys = new RedisKeys('t');

  it('asks the script with the user\'s single key, the limit, the key and a one-second window', async () => {
    const { redis, calls } = fakeRedis(new Set(), []);
    await new ClaimRateLimiter(redis, keys, 5).check('u1', 'k1');
    expect(calls).toEqual([{ key: 't:{u:u1}:claim-window', limit: 5, orderId: 'k1', windowMs: 1000 }]);
  });

  it('refuses with 429 RATE_LIMITED and Retry-After from the script\'s wait, counting refusals', async () => {
    const { redis } = fakeRedis(new Set(), [[0, 1, 0], [0, 999, 0], [0, 1000, 0], [0, 1001, 0]]);
    const limiter = new ClaimRateLimiter(redis, keys, 5);
    await expect(limiter.check('u1', 'a')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'b')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'c')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'd')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 2 });
    expect(limiter.refused).toBe(4);
  });

  it('lets a repeat of a key whose order exists through uncounted: takes out what the script added for it, only that', async () => {
    // Asked together with the existence check; the script's answers: added it, already there, refused.
    const { redis, calls, removed } = fakeRedis(new Set([keys.orderBinding('seen')]), [[1, 0, 1], [1, 0, 0], [0, 500, 0], [0, 500, 0]]);
    const limiter = new ClaimRateLimiter(redis, keys, 1);
    for (let i = 0; i < 3; i++) await expect(limiter.check('u1', 'seen')).resolves.toBeUndefined();
    expect(calls).toHaveLength(3);
    expect(removed).toEqual([['t:{u:u1}:claim-window', 'seen']]);
    await expect(limiter.check('u1', 'new')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(limiter.refused).toBe(1);
  });

  it('is off at 0 and lets claims through when Redis cannot answer', async () => {
    const closed = async () => Promise.reject(new Error('connection closed'));
    const broken = { exists: closed, claimRateLimit: closed, defineCommand: jest.fn() } as unknown as Redis;
    await expect(new ClaimRateLimiter(broken, keys, 5).check('u1', 'k')).resolves.toBeUndefined();
    const unused = { exists: jest.fn(), defineCommand: jest.fn() } as unknown as Redis;
    await expect(new ClaimRateLimiter(unused, keys, 0).check('u1', 'k')).resolves.toBeUndefined();
    expect((unused as unknown as { exists: jest.Mock }).exists).not.toHaveBeenCalled();
    expect((unused as unknown as { defineCommand: jest.Mock }).defineCommand).not.toHaveBeenCalled();
  });

  it.each([
    [0, 1], [1, 1], [999, 1], [1000, 1], [1001, 2], [2500, 3],
  ])('Retry-After for a wait of %i ms is %i s', (waitMs, seconds) => {
    expect(retryAfterSeconds(waitMs)).toBe(seconds);
  });
});
