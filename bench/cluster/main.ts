import { randomUUID } from 'node:crypto';
import type { GiftView } from '@app/contracts';
import { http } from '../../test/support/http.js';
import { startRedisServer } from '../../test/support/redis.js';
import { startRedisCluster } from '../../test/support/redis-cluster.js';
import { runBench, type BenchContext } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { fmtRate, fmtRatio, printTable, RESULT_HEADER, resultRow } from '../support/report.js';

/**
 * bench/cluster: synchronous claims/s through the gateway (`POST /api/gifts/{id}/claims`, provider
 * stub at 0 ms) on one Redis vs a local Redis Cluster of 3 masters, same run, one after the other
 * (never both at once: 2 cores). Both Redis setups are started by the bench with AOF on
 * (`appendonly yes`, `everysec`). Every claim has a fresh Idempotency-Key; 500 users rotate; the
 * inventory is far above what a run claims. Spread over GIFTS gifts so the cluster's slots (and
 * masters) all take part. On 2 cores the cluster is not expected to be faster: this measures what it
 * costs (more processes, more connections, MOVED-free but per-node routing in the client).
 */
const CONCURRENCY = 32;
const WARMUP_S = 3;
const MAX_S = 8;
const USERS = 500;
const GIFTS = 6;
const INVENTORY = 100_000_000;

async function measure(ctx: BenchContext, label: string, redisUrl: string): Promise<{ result: LoadResult; taken: number; sent: number }> {
  ctx.step(`${label}: starting provider stub, query, delivery, gateway`);
  const suite = await ctx.startSuite({ redisUrl, providerEnv: { FAULT_LATENCY_MS: '0' } });
  const gifts = Array.from({ length: GIFTS }, (_, i) => `bench-cluster-g${i}`);
  await publishActivity(suite, 'bench-cluster', gifts.map((giftId) => ({ giftId, inventory: INVENTORY, perUserLimit: INVENTORY })));
  const authorizations = await userAuthHeaders(suite, 'bench-user', USERS);
  const run = randomUUID().slice(0, 8);
  let seq = 0;
  const load = (durationS: number) =>
    runHttpLoad({
      origin: suite.gatewayUrls[0],
      path: `/api/gifts/${gifts[0]}/claims`,
      method: 'POST',
      connections: CONCURRENCY,
      durationS,
      isOk: (status) => status === 200,
      setupRequest: (request) => {
        const n = ++seq;
        return {
          ...request,
          path: `/api/gifts/${gifts[n % GIFTS]}/claims`,
          headers: { authorization: authorizations[n % USERS], 'idempotency-key': `bc-${run}-${n}` },
        };
      },
    });
  ctx.step(`${label}: warm-up ${WARMUP_S} s`);
  await load(WARMUP_S);
  ctx.step(`${label}: max for ${MAX_S} s, ${CONCURRENCY} connections`);
  const result = await load(MAX_S);
  let taken = 0;
  for (const giftId of gifts) {
    const gift = (await http('GET', `${suite.gatewayUrls[0]}/api/gifts/${giftId}`, { headers: { authorization: authorizations[0] } })).body as GiftView;
    taken += INVENTORY - gift.remaining;
  }
  // Its apps stop now (the next setup gets the cores); the Redis and the key clean-up stay to the end.
  await suite.stop();
  return { result, taken, sent: seq };
}

runBench('cluster', { deadlineS: 240 }, async (ctx) => {
  ctx.step('starting one redis-server (AOF)');
  const single = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
  ctx.defer(() => single.stop());
  const one = await measure(ctx, 'one Redis', single.url);

  ctx.step('starting a local Redis Cluster: 3 masters (AOF)');
  const cluster = await startRedisCluster({ masters: 3 });
  ctx.defer(() => cluster.stop());
  const three = await measure(ctx, 'Redis Cluster', cluster.url);

  printTable(`POST /api/gifts/{id}/claims (sync, ${GIFTS} gifts, provider stub at 0 ms), ${CONCURRENCY} connections, ${MAX_S} s`, ['redis', ...RESULT_HEADER], [
    ['one redis-server', ...resultRow('HTTP -> gateway -> TCP -> delivery', 'max', one.result)],
    ['cluster, 3 masters', ...resultRow('HTTP -> gateway -> TCP -> delivery', 'max', three.result)],
  ]);
  console.log('');
  console.log(`claims/s: one Redis ${fmtRate(one.result.okPerS)}, cluster ${fmtRate(three.result.okPerS)}; cluster / one Redis: ${fmtRatio(three.result.okPerS / one.result.okPerS)}`);
  console.log(`inventory taken: one Redis ${one.taken.toLocaleString('en-US')} for ${one.sent.toLocaleString('en-US')} sent; cluster ${three.taken.toLocaleString('en-US')} for ${three.sent.toLocaleString('en-US')} sent (warm-up included)`);
  console.log('Load generator, apps, provider stub and every Redis process share the same 2 cores; compare figures of one run only.');
});
