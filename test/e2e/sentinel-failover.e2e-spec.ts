import { startSentinelGroup, type LocalSentinelGroup } from '../support/redis-sentinel.js';
import { startSuite, type Suite } from '../support/suite.js';
import { claimsAcrossMasterFailure, saveSuiteLogs } from './failover-support.js';

jest.setTimeout(180_000);

// Failover under load through Sentinel (REDIS_URL redis+sentinel://): a master, one replica and
// three Sentinels (quorum 2, down-after 1000 ms). While async claims flow, the master is killed with
// SIGKILL; the Sentinels promote the replica and every app follows it.
describe('Redis Sentinel failover during async claims (master + replica, 3 Sentinels)', () => {
  let group: LocalSentinelGroup;
  let suite: Suite;
  let failed = false;

  beforeAll(async () => {
    group = await startSentinelGroup({ replicas: 1, sentinels: 3, downAfterMs: 1_000 });
    suite = await startSuite({
      redisUrl: group.url,
      gateways: 2,
      deliveries: 2,
      deliveryEnv: { QUEUE_BACKOFF_BASE_MS: '200', QUEUE_BACKOFF_MAX_MS: '1000', SWEEP_INTERVAL_MS: '500', QUEUE_LOCK_MS: '5000' },
      gatewayEnv: { TIMEOUT_SLOW_MS: '8000', CLAIM_RATE_LIMIT_PER_S: '0' },
    });
  });
  afterEach(() => {
    if (failed && suite) saveSuiteLogs(suite, 'sentinel-failover');
  });
  afterAll(async () => {
    await suite?.stop();
    await group?.stop();
  });

  it('delivers every claim exactly once after the master is killed and the replica promoted', async () => {
    try {
      const before = await group.masterPort();
      let after = 0;
      const summary = await claimsAcrossMasterFailure(suite, 'sfo-g1', {
        waitReplicated: () => group.waitReplicated(before),
        kill: () => group.kill(before),
        waitRecovered: async () => {
          after = await group.waitFailover(before);
        },
      });
      expect(after).not.toBe(before);
      console.log(JSON.stringify({ event: 'failover.summary', engine: 'sentinel', ...summary, killedPort: before, newMasterPort: after }));
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
