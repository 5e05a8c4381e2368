import { randomUUID } from 'node:crypto';
import { startRedisServer } from '../../test/support/redis.js';
import { waitFor } from '../../test/support/wait-for.js';
import { Redis } from 'ioredis';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { fmtRatio, printTable, RESULT_HEADER, resultRow } from '../support/report.js';

/**
 * bench/fence: the cost of the durability fence. Sync claims of a gift whose provider has no order
 * numbers (stub at 0 ms), through the gateway, against a Redis master with one replica: once with
 * the fence (`REDIS_WAIT_REPLICAS=1`: the attempt's send record must be on the replica before the
 * call, Redis WAIT) and once without (`REDIS_WAIT_REPLICAS=0`), same Redis pair, same run.
 */
const CONCURRENCY = 32;
const WARMUP_S = 3;
const MAX_S = 10;
const USERS = 500;
const INVENTORY = 100_000_000;

runBench('fence', { deadlineS: 150 }, async (ctx) => {
  ctx.step('starting a Redis master and a replica');
  const master = await startRedisServer();
  ctx.defer(() => master.stop());
  const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  ctx.defer(() => replica.stop());
  const probe = new Redis(master.url);
  await waitFor(async () => /state=online/.test(await probe.info('replication')), { timeoutMs: 20_000, what: 'the replica to finish its first sync' });
  probe.disconnect();

  const results: Array<[string, LoadResult]> = [];
  for (const replicas of ['1', '0']) {
    ctx.step(`REDIS_WAIT_REPLICAS=${replicas}: starting the suite`);
    const suite = await ctx.startSuite({ redisUrl: master.url, deliveryEnv: { REDIS_WAIT_REPLICAS: replicas }, providerEnv: { FAULT_LATENCY_MS: '0', ORDER_NUMBERS: 'false' } });
    const giftId = `fence-g-${replicas}`;
    await publishActivity(suite, `bench-fence-${replicas}`, [{ giftId, inventory: INVENTORY, perUserLimit: INVENTORY, provider: { url: suite.providerUrl, orderNumbers: false } }]);
    const authorizations = await userAuthHeaders(suite, `fence-user-${replicas}`, USERS);
    const run = randomUUID().slice(0, 8);
    let seq = 0;
    const load = (durationS: number) =>
      runHttpLoad({
        origin: suite.gatewayUrls[0],
        path: `/api/gifts/${giftId}/claims`,
        method: 'POST',
        connections: CONCURRENCY,
        durationS,
        isOk: (status) => status === 200,
        setupRequest: (request) => ({ ...request, headers: { authorization: authorizations[++seq % USERS], 'idempotency-key': `f-${run}-${seq}` } }),
      });
    await load(WARMUP_S);
    results.push([replicas === '1' ? 'with the WAIT fence (1 replica)' : 'without the fence', await load(MAX_S)]);
    await suite.stop();
  }
  printTable('sync claims, provider without order numbers (stub 0 ms), master + 1 replica', RESULT_HEADER, results.map(([name, r]) => resultRow(name, `max, ${CONCURRENCY} conns`, r)));
  console.log('');
  console.log(`claims/s with the fence / without: ${fmtRatio(results[0][1].okPerS / results[1][1].okPerS)}`);
  console.log('Load generator, apps, both Redis servers and the stub share the same cores; compare figures of one run only.');
});
