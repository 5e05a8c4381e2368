import { startSentinelGroup, type LocalSentinelGroup } from '../support/redis-sentinel.js';
import { startSuite, type Suite } from '../support/suite.js';
import { claimsAcrossMasterFailure, failoverSuiteOptions, saveSuiteLogs } from './failover-support.js';

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
    suite = await startSuite(failoverSuiteOptions(group.url));
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
