import { RedisKeys } from '@app/contracts';
import type { Redis } from 'ioredis';
import { ClaimRateLimiter, retryAfterSeconds } from './claim-rate-limiter.js';

/**
 * The limiter's TypeScript side with a stand-in for Redis: which calls it makes and how it maps the
 * script's answer. The window algorithm itself is the Lua script, tested on a real Redis with a
 * fake clock in claim-rate-limiter.redis.spec.ts.
 */
function fakeRedis(existing: Set<string>, answers: Array<[number, number]>) {
  const calls: Array<{ key: string; limit: number; orderId: string; windowMs: number }> = [];
  const redis = {
    exists: async (key: string) => (existing.has(key) ? 1 : 0),
    defineCommand: jest.fn(),
    claimRateLimit: async (key: string, limit: number, orderId: string, windowMs: number) => {
      calls.push({ key, limit, orderId, windowMs });
      return answers.shift() ?? [1, 0];
    },
  };
  return { redis: redis as unknown as Redis, calls };
}

describe('ClaimRateLimiter', () => {
  const keys = new RedisKeys('t');

  it('asks the script with the user\'s single key, the limit, the key and a one-second window', async () => {
    const { redis, calls } = fakeRedis(new Set(), []);
    await new ClaimRateLimiter(redis, keys, 5).check('u1', 'k1');
    expect(calls).toEqual([{ key: 't:{u:u1}:claim-window', limit: 5, orderId: 'k1', windowMs: 1000 }]);
  });

  it('refuses with 429 RATE_LIMITED and Retry-After from the script\'s wait, counting refusals', async () => {
    const { redis } = fakeRedis(new Set(), [[0, 1], [0, 999], [0, 1000], [0, 1001]]);
    const limiter = new ClaimRateLimiter(redis, keys, 5);
    await expect(limiter.check('u1', 'a')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'b')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'c')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    await expect(limiter.check('u1', 'd')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 2 });
    expect(limiter.refused).toBe(4);
  });

  it('does not ask the script for a repeat of a key whose order exists', async () => {
    const { redis, calls } = fakeRedis(new Set([keys.orderBinding('seen')]), [[0, 500]]);
    const limiter = new ClaimRateLimiter(redis, keys, 1);
    for (let i = 0; i < 10; i++) await expect(limiter.check('u1', 'seen')).resolves.toBeUndefined();
    expect(calls).toHaveLength(0);
    await expect(limiter.check('u1', 'new')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('is off at 0 and lets claims through when Redis cannot answer', async () => {
    const broken = { exists: async () => Promise.reject(new Error('connection closed')), defineCommand: jest.fn() } as unknown as Redis;
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
