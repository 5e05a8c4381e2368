import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { ClaimRateLimiter } from './claim-rate-limiter.js';

// The limiter on a real Redis, through a connection with auto-pipelining as the gateway uses it.
describe('ClaimRateLimiter on Redis with auto-pipelining', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let keys: RedisKeys;

  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url, { enableAutoPipelining: true });
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
  });
  afterAll(async () => {
    await deletePrefix(testRedis.url, keys.prefix);
    redis.disconnect();
    await testRedis.stop();
  });

  // Regression: the script used to be defined on the first check, after its EXISTS answered. A
  // batch another request had started in between did not know the script: the call added to it
  // failed ("pipeline[functionName] is not a function") and ioredis then threw in a callback, which
  // killed the gateway on its first concurrent claims (seen on Redis Cluster in bench/cluster).
  it('runs a first check while another request\'s batch is still being filled', async () => {
    const limiter = new ClaimRateLimiter(redis, keys, 3);
    // One batch: [GET a, EXISTS order]. Their callbacks run in that order, so the other request's
    // next command starts a new batch just before the check's continuation calls the script.
    const otherRequest = redis.get(`${keys.prefix}:a`).then(() => redis.get(`${keys.prefix}:b`));
    const checks = Array.from({ length: 4 }, (_, i) => limiter.check('user-1', `key-${i}`).then(() => 'ok', (err: { code?: string }) => err.code ?? String(err)));
    await otherRequest;
    // (The four scripts run back to back in one batch, within the same second of Redis's clock.)
    expect(await Promise.all(checks)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });
});
