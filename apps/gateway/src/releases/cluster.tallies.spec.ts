import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { ClusterTallies } from './cluster.tallies.js';
import { ReleaseWindows } from './release.windows.js';

// Runs against the test Redis (REDIS_URL or 127.0.0.1:6379) under a unique prefix.
describe('ClusterTallies', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const keys = new RedisKeys(`spec-${randomUUID().slice(0, 8)}`);
  const generations = { a: 1, b: 1 };
  const gateway = (id: 'a' | 'b', staleAfterMs?: number) => {
    const windows = new ReleaseWindows();
    return { windows, tallies: new ClusterTallies(redis, keys, windows, { gatewayId: id, staleAfterMs, generationOf: () => generations[id] }) };
  };
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(async () => {
    await redis.del(keys.releaseTallies());
    await redis.quit();
  });

  it('judges on every gateway\'s calls: a peer\'s tallies of the same rollout add to this gateway\'s', async () => {
    const [a, b] = [gateway('a'), gateway('b')];
    const now = Date.now();
    for (let i = 0; i < 3; i++) a.windows.record('delivery', 'canary-1', 'g1', false, 10, now);
    for (let i = 0; i < 4; i++) b.windows.record('delivery', 'canary-1', 'g1', false, 10, now);
    b.windows.record('delivery', 'canary-1', 'g2', true, 10, now);
    await b.tallies.sync(now);
    await a.tallies.sync(now);
    const merged = a.tallies.tallies('delivery', 'canary-1', now);
    expect(merged.get('g1')).toMatchObject({ ok: 0, failed: 7 });
    expect(merged.get('g2')).toMatchObject({ ok: 1, failed: 0 });
    // The local windows are not changed by merging.
    expect(a.windows.tallies('delivery', 'canary-1', now).get('g1')).toMatchObject({ failed: 3 });

    // A peer still on the previous rollout generation is left out.
    generations.a = 2;
    expect(a.tallies.tallies('delivery', 'canary-1', now).get('g1')).toMatchObject({ failed: 3 });
    generations.a = 1;
  });

  it('ignores and deletes a peer that stopped writing', async () => {
    const a = gateway('a', 1_000);
    const now = Date.now();
    await redis.hset(keys.releaseTallies(), 'gone', JSON.stringify({ at: now - 5_000, generations: { delivery: 1 }, tallies: { delivery: { stable: { g1: { ok: 9, failed: 0, hist: [] } } } } }));
    await a.tallies.sync(now);
    expect(a.tallies.tallies('delivery', 'stable', now).get('g1')).toBeUndefined();
    expect(await redis.hexists(keys.releaseTallies(), 'gone')).toBe(0);
  });
});
