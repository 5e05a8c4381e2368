import { randomUUID } from 'node:crypto';
import { RedisKeys } from '@app/contracts';
import { keySlot, startRedisCluster, type LocalRedisCluster } from '../support/redis-cluster.js';
import { startSuite, type Suite } from '../support/suite.js';
import { claimsAcrossMasterFailure, failoverSuiteOptions, saveSuiteLogs } from './failover-support.js';

jest.setTimeout(180_000);

// Failover under load: 3 masters + 3 replicas (cluster-node-timeout 2000). While async claims
// flow, the master that owns the gift's slot is killed with SIGKILL; its replica takes over.
//
// The worst case, on every run: the deployment's prefix is chosen so that its global keys (claims
// in flight, flags, activities, registry) and BullMQ's `{queue}` slot live on that same master, so
// the kill takes the gift, the queue and the sweeper's set down at once.
const GIFT_ID = 'fo-g1';

/** A prefix whose untagged keys all hash into `ranges` (found by trying random ones). */
function prefixWithGlobalKeysIn(ranges: Array<[number, number]>): string {
  const inRanges = (key: string) => ranges.some(([a, b]) => keySlot(key) >= a && keySlot(key) <= b);
  for (let i = 0; i < 100_000; i++) {
    const keys = new RedisKeys(`fo-${randomUUID().slice(0, 8)}`);
    const global = [keys.gifts(), keys.flags(), keys.activities(), keys.publishLock(), keys.registry('query'), keys.registry('delivery'), keys.queuePrefix()];
    if (global.every(inRanges)) return keys.prefix;
  }
  throw new Error('no prefix found whose global keys share the slot ranges');
}

describe('Redis Cluster failover during async claims (3 masters + 3 replicas)', () => {
  let cluster: LocalRedisCluster;
  let suite: Suite;
  let giftMaster: { port: number; slot: number };
  let failed = false;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2_000 });
    giftMaster = await cluster.masterOf(new RedisKeys('any').gift(GIFT_ID));
    suite = await startSuite(failoverSuiteOptions(cluster.url, prefixWithGlobalKeysIn(await cluster.slotsOf(giftMaster.port))));
  });
  afterEach(() => {
    if (failed && suite) saveSuiteLogs(suite, 'cluster-failover');
  });
  afterAll(async () => {
    await suite?.stop();
    await cluster?.stop();
  });

  it('delivers every claim exactly once after the gift slot\'s master is killed', async () => {
    try {
      const giftKey = new RedisKeys(suite.prefix).gift(GIFT_ID);
      expect(await cluster.masterOf(giftKey)).toEqual(giftMaster);
      expect(keySlot(giftKey)).toBe(giftMaster.slot);

      const summary = await claimsAcrossMasterFailure(suite, GIFT_ID, {
        waitReplicated: () => cluster.waitReplicated(giftMaster.port),
        kill: () => cluster.kill(giftMaster.port),
        // The replica took over: the slot has a new live master and every slot is served again.
        waitRecovered: () => cluster.waitHealthy(30_000),
      });
      const after = await cluster.masterOf(giftKey);
      expect(after.slot).toBe(giftMaster.slot);
      expect(after.port).not.toBe(giftMaster.port);
      console.log(JSON.stringify({ event: 'failover.summary', engine: 'cluster', ...summary, killedPort: giftMaster.port, newMasterPort: after.port, slot: giftMaster.slot }));
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
