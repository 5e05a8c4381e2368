import { freePort } from '../../test/support/ports.js';
import { spawnApp } from '../../test/support/spawn-app.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { fmtMs, fmtRate, printTable, verdict } from '../support/report.js';

/**
 * bench/routing-overhead: the per-request cost of success-rate routing. Two gateways over the same
 * 2 query instances, one with ROUTING_MODE=success-rate and one with round-robin, loaded in turn
 * (ROUNDS alternations, so drift on a noisy machine hits both) with autocannon closed loops of
 * `GET /api/gifts/{id}`. Goal (issue 3): success-rate req/s >= 95% of round robin. Printed, not asserted.
 */
const CONNECTIONS = 50;
const WARMUP_S = 2;
const RUN_S = 6;
const ROUNDS = 3;
const GIFT_ID = 'bench-ro-g1';

runBench('routing-overhead', { deadlineS: 180 }, async (ctx) => {
  ctx.step('starting provider stub, 2 query, 1 delivery, success-rate gateway');
  const suite = await ctx.startSuite({ queries: 2, deliveries: 1, gatewayEnv: { ROUTING_MODE: 'success-rate' } });
  await publishActivity(suite, 'bench-ro', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  ctx.step('starting the round-robin gateway');
  const rrPort = await freePort();
  const rr = await spawnApp('gateway', {
    REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, PORT: String(rrPort), ROUTING_MODE: 'round-robin',
    QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
    DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
    JWT_SECRET: suite.jwtSecret, ADMIN_TOKEN: suite.adminToken,
  }, { label: 'gateway-rr' });
  ctx.defer(() => rr.stop());
  const [authorization] = await userAuthHeaders(suite, 'bench-ro', 1);
  const targets = [
    { mode: 'success-rate', origin: suite.gatewayUrls[0] },
    { mode: 'round-robin', origin: `http://127.0.0.1:${rrPort}` },
  ];
  const load = (origin: string, durationS: number) =>
    runHttpLoad({ origin, path: `/api/gifts/${GIFT_ID}`, headers: { authorization }, connections: CONNECTIONS, durationS });
  for (const t of targets) {
    ctx.step(`warming up ${t.mode}`);
    await load(t.origin, WARMUP_S);
  }
  const runs: Record<string, LoadResult[]> = { 'success-rate': [], 'round-robin': [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      ctx.step(`round ${round + 1}/${ROUNDS}: ${t.mode}`);
      runs[t.mode].push(await load(t.origin, RUN_S));
    }
  }
  const mean = (rs: LoadResult[], f: (r: LoadResult) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const rows = targets.map((t) => {
    const rs = runs[t.mode];
    const failed = rs.reduce((a, r) => a + Object.values(r.failures).reduce((x, y) => x + y, 0), 0);
    return [t.mode, rs.map((r) => fmtRate(r.okPerS)).join(' / '), fmtRate(mean(rs, (r) => r.okPerS)), fmtMs(mean(rs, (r) => r.p50Ms)), fmtMs(mean(rs, (r) => r.p99Ms)), String(failed)];
  });
  printTable(`routing overhead: ${CONNECTIONS} connections, ${ROUNDS} x ${RUN_S} s per mode, alternating`, ['routing', 'ok/s per run', 'mean ok/s', 'p50 ms', 'p99 ms', 'not ok'], rows);
  const ratio = mean(runs['success-rate'], (r) => r.okPerS) / mean(runs['round-robin'], (r) => r.okPerS);
  console.log(`\nsuccess-rate / round-robin req/s: ${(ratio * 100).toFixed(1)}% (goal >= 95%): ${verdict(ratio >= 0.95)}`);
});
