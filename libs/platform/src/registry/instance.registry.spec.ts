import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { instanceReleases, InstanceRegistration, liveInstances } from '@app/platform';

// Runs against the test Redis (REDIS_URL or 127.0.0.1:6379) under a unique prefix.
describe('InstanceRegistration', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const keys = new RedisKeys(`spec-${randomUUID().slice(0, 8)}`);
  const events = { log: jest.fn(), warn: jest.fn() };
  const registrations: InstanceRegistration[] = [];
  const register = async (address: string, ttlMs = 5_000, release?: string) => {
    const registration = new InstanceRegistration(redis, keys, 'query', address, ttlMs, events, release);
    registrations.push(registration);
    await registration.start();
    return registration;
  };

  afterEach(async () => {
    await Promise.all(registrations.splice(0).map((r) => r.stop()));
    await redis.del(keys.registry('query'), keys.registryReleases('query'));
  });
  afterAll(() => redis.quit());

  it('lists registered instances until they deregister (stop twice is fine)', async () => {
    const a = await register('127.0.0.1:1');
    await register('127.0.0.1:2');
    expect((await liveInstances(redis, keys, 'query')).sort()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(await liveInstances(redis, keys, 'delivery')).toEqual([]);
    await a.stop();
    await a.stop();
    expect(await liveInstances(redis, keys, 'query')).toEqual(['127.0.0.1:2']);
    expect(events.log).toHaveBeenCalledWith(expect.objectContaining({ event: 'registry.registered', address: '127.0.0.1:1' }));
  });

  it('keeps a heartbeating instance and drops one whose registration lapsed', async () => {
    await register('127.0.0.1:3', 600);
    await redis.zadd(keys.registry('query'), 1, '127.0.0.1:9'); // lapsed long ago
    await new Promise((r) => setTimeout(r, 900)); // longer than the TTL: only heartbeats keep it
    expect(await liveInstances(redis, keys, 'query')).toEqual(['127.0.0.1:3']);
    expect(await redis.zscore(keys.registry('query'), '127.0.0.1:9')).toBeNull();
  });

  it('records each instance\'s release beside it; a deregistered or lapsed address loses its entry', async () => {
    const a = await register('127.0.0.1:4', 5_000, 'canary-1');
    await register('127.0.0.1:5');
    const live = await liveInstances(redis, keys, 'query');
    expect(await instanceReleases(redis, keys, 'query', live)).toEqual(new Map([['127.0.0.1:4', 'canary-1'], ['127.0.0.1:5', 'stable']]));
    await redis.hset(keys.registryReleases('query'), '127.0.0.1:9', 'old');
    await a.stop();
    const after = await instanceReleases(redis, keys, 'query', await liveInstances(redis, keys, 'query'));
    expect(after).toEqual(new Map([['127.0.0.1:5', 'stable']]));
    expect(await redis.hkeys(keys.registryReleases('query'))).toEqual(['127.0.0.1:5']);
  });
});
