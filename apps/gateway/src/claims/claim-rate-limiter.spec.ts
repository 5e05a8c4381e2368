import { RedisKeys } from '@app/contracts';
import type { Redis } from 'ioredis';
import { ClaimRateLimiter } from './claim-rate-limiter.js';

/** A fake Redis with the two things the limiter uses: EXISTS and the defined counter script (per second of a fake server clock). */
function fakeRedis(existing: Set<string>) {
  const counters = new Map<string, Set<string>>();
  const clock = { ms: 1_000_250 };
  const redis = {
    exists: async (key: string) => (existing.has(key) ? 1 : 0),
    defineCommand: jest.fn(),
    claimRateLimit: async (prefix: string, limit: number, idempotencyKey: string) => {
      const key = `${prefix}:${Math.floor(clock.ms / 1000)}`;
      const seen = counters.get(key) ?? new Set<string>();
      counters.set(key, seen);
      if (seen.has(idempotencyKey)) return [1, 0];
      if (seen.size >= limit) return [0, 1000 - (clock.ms % 1000)];
      seen.add(idempotencyKey);
      return [1, 0];
    },
  };
  return { redis: redis as unknown as Redis, clock, counters };
}

describe('ClaimRateLimiter', () => {
  const keys = new RedisKeys('t');

  it('lets limitPerS new keys per user per second through, then 429 RATE_LIMITED with Retry-After', async () => {
    const { redis, clock } = fakeRedis(new Set());
    const limiter = new ClaimRateLimiter(redis, keys, 5);
    for (let i = 0; i < 5; i++) await expect(limiter.check('u1', `k${i}`)).resolves.toBeUndefined();
    await expect(limiter.check('u1', 'k5')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    // Another user has their own count.
    await expect(limiter.check('u2', 'k6')).resolves.toBeUndefined();
    clock.ms += 1_000;
    await expect(limiter.check('u1', 'k7')).resolves.toBeUndefined();
  });

  it('does not count a repeat of a key whose order exists', async () => {
    const existing = new Set([keys.orderBinding('seen')]);
    const { redis, counters } = fakeRedis(existing);
    const limiter = new ClaimRateLimiter(redis, keys, 1);
    for (let i = 0; i < 10; i++) await expect(limiter.check('u1', 'seen')).resolves.toBeUndefined();
    expect(counters.size).toBe(0);
    await expect(limiter.check('u1', 'new-1')).resolves.toBeUndefined();
    await expect(limiter.check('u1', 'new-2')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('counts concurrent repeats of one new key (its order not yet stored) once', async () => {
    const { redis } = fakeRedis(new Set());
    const limiter = new ClaimRateLimiter(redis, keys, 2);
    for (let i = 0; i < 10; i++) await expect(limiter.check('u1', 'same')).resolves.toBeUndefined();
    await expect(limiter.check('u1', 'other')).resolves.toBeUndefined();
    await expect(limiter.check('u1', 'third')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('is off at 0 and lets claims through when Redis cannot answer', async () => {
    const broken = { exists: async () => Promise.reject(new Error('connection closed')), defineCommand: jest.fn() } as unknown as Redis;
    await expect(new ClaimRateLimiter(broken, keys, 5).check('u1', 'k')).resolves.toBeUndefined();
    const unused = { exists: jest.fn() } as unknown as Redis;
    await expect(new ClaimRateLimiter(unused, keys, 0).check('u1', 'k')).resolves.toBeUndefined();
    expect((unused as unknown as { exists: jest.Mock }).exists).not.toHaveBeenCalled();
  });
});
