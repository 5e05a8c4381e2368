import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import type { FlagCache } from '@app/platform';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { ClaimReporter } from './claim.reporter.js';

// On the real Redis (REDIS_URL, or a redis-server started for the test), under a prefix of its own.
describe('ClaimReporter (the report stream the analyzers count)', () => {
  let server: TestRedis;
  let redis: Redis;
  const prefix = `spec-${randomUUID().slice(0, 8)}`;
  const keys = new RedisKeys(prefix);
  let disabled = false;
  const flags = { isEnabled: () => disabled } as unknown as FlagCache;
  beforeAll(async () => {
    server = await useTestRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    await deletePrefix(server.url, prefix);
    redis.disconnect();
    await server.stop();
  });

  const entries = async () =>
    (await redis.xrange(keys.reports(), '-', '+')).map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      return f;
    });

  it('writes a claim\'s own settlement on its claim entry (one entry), any other path\'s as an outcome entry, nothing while disabled', async () => {
    const reporter = new ClaimReporter(redis, keys, flags, { flushTimeoutMs: 1_000, maxBuffered: 100 });
    reporter.outcome({ orderId: 'o1', giftId: 'g1', status: 'delivered', at: 1 }, 'claim');
    reporter.report({ orderId: 'o1', giftId: 'g1', status: 'delivered', latencyMs: 4, at: 1 });
    reporter.report({ orderId: 'o1', giftId: 'g1', status: 'delivered', latencyMs: 1, at: 2 }); // a repeat: no settlement again
    reporter.outcome({ orderId: 'o2', giftId: 'g1', status: 'failed', at: 3 }, 'worker');
    reporter.report({ orderId: 'o3', giftId: 'g1', status: 'SOLD_OUT', latencyMs: 1, at: 4 });
    disabled = true;
    reporter.report({ orderId: 'o4', giftId: 'g1', status: 'delivered', latencyMs: 1, at: 5 });
    reporter.outcome({ orderId: 'o4', giftId: 'g1', status: 'delivered', at: 5 }, 'worker');
    disabled = false;
    await reporter.dispose();
    expect(await entries()).toEqual([
      { kind: 'claim', orderId: 'o1', giftId: 'g1', status: 'delivered', at: '1', latencyMs: '4', settled: 'delivered' },
      { kind: 'claim', orderId: 'o1', giftId: 'g1', status: 'delivered', at: '2', latencyMs: '1' },
      { kind: 'outcome', orderId: 'o2', giftId: 'g1', status: 'failed', at: '3' },
      { kind: 'claim', orderId: 'o3', giftId: 'g1', status: 'SOLD_OUT', at: '4', latencyMs: '1' },
    ]);
  });
});
