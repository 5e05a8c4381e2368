import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../test/support/redis.js';
import { ActivityObjectives, GiftDirectory, UNKNOWN_PLACE } from './gift-directory.js';

// On the real Redis (REDIS_URL, or a redis-server started for the test), under a prefix of its own.
describe('gift directory and activity objectives (cached reads of Redis)', () => {
  let server: TestRedis;
  let redis: Redis;
  const keys = new RedisKeys(`spec-${randomUUID().slice(0, 8)}`);
  beforeAll(async () => {
    server = await useTestRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    await deletePrefix(server.url, keys.gift('x').split(':')[0]);
    redis.disconnect();
    await server.stop();
  });

  it('resolves gifts to activity and provider origin, keeps them ttl, then sees a re-publish', async () => {
    await redis.hset(keys.gift('g1'), { activityId: 'a1', providerUrl: 'https://p.example:8443/deliver?key=secret' });
    const directory = new GiftDirectory(redis, keys, 1_000);
    expect(await directory.places(['g1', 'g1', 'nope'], 0)).toEqual(new Map([
      ['g1', { activityId: 'a1', provider: 'https://p.example:8443' }],
      ['nope', UNKNOWN_PLACE],
    ]));
    await redis.hset(keys.gift('g1'), { providerUrl: 'http://q:1' });
    expect((await directory.places(['g1'], 999)).get('g1')!.provider).toBe('https://p.example:8443'); // cached
    expect((await directory.places(['g1'], 1_000)).get('g1')!.provider).toBe('http://q:1'); // expired: read again
  });

  it('answers each activity\'s objective, the fallback where none (or a bad one) is set', async () => {
    await redis.hset(keys.activity('lax'), { name: 'x', successObjective: '0.8' });
    await redis.hset(keys.activity('odd'), { name: 'y', successObjective: '7' });
    const objectives = new ActivityObjectives(redis, keys, 0.995);
    expect(await objectives.of(['lax', 'odd', 'plain'])).toEqual(new Map([['lax', 0.8], ['odd', 0.995], ['plain', 0.995]]));
  });
});
