import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { initialRollout, withCanary, type Rollout } from './rollout.js';
import { RolloutStore } from './rollout.store.js';

// Runs against the test Redis (REDIS_URL or 127.0.0.1:6379) under a unique prefix: two stores as two gateways.
describe('RolloutStore', () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keys = new RedisKeys(`spec-${randomUUID().slice(0, 8)}`);
  const connections: Redis[] = [];
  const stores: RolloutStore[] = [];
  const gateway = async () => {
    const [redis, subscriber] = [new Redis(url), new Redis(url)];
    connections.push(redis, subscriber);
    const store = new RolloutStore(redis, subscriber, keys);
    stores.push(store);
    await store.start();
    return store;
  };
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(async () => {
    for (const store of stores) store.stop();
    await connections[0].del(keys.releases());
    await Promise.all(connections.map((c) => c.quit()));
  });

  it('a write on one gateway reaches the other by pub/sub within a second; a stale compare-and-set stores nothing', async () => {
    const [a, b] = [await gateway(), await gateway()];
    const seen: Rollout[] = [];
    b.onChange((r) => seen.push(r));
    const next = withCanary(initialRollout('delivery'), { canary: 'c1', weightPct: 20, reason: 'r', actor: 'x' }, new Date());
    const startedMs = Date.now();
    expect(await a.compareAndSet(next)).toBe(true);
    while (b.get('delivery').generation !== 1 && Date.now() - startedMs < 1_000) await new Promise((r) => setTimeout(r, 10));
    expect(b.get('delivery')).toMatchObject({ state: 'progressing', canary: 'c1', weightPct: 20 });
    expect(seen.at(-1)).toMatchObject({ generation: 1 });
    // Another writer built on generation 0 too: it loses.
    expect(await b.compareAndSet({ ...next, weightPct: 90 })).toBe(false);
    await a.refresh();
    expect(a.get('delivery').weightPct).toBe(20);
  });
});
