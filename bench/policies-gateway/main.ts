import { extraGateway } from '../../test/e2e/resilience-support.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { runPacedLoop } from '../support/loop-load.js';
import { fmtMs, fmtRatio, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';

/**
 * bench/policies-gateway: bench/gateway's read (`GET /api/gifts/{id}`, HTTP -> gateway -> TCP ->
 * query -> Redis) on two gateways of one run, every policy on (class timeout, bulkhead, breaker,
 * gated retry, stale cache: `RESILIENCE_POLICIES=on`) vs off. Max runs alternate on/off/on/off
 * to spread drift of the shared cores. Goal (issue 4): on >= 90% of off. Printed, not asserted.
 */
const CONNECTIONS = 50;
const MAX_S = 8;
const ROUNDS = 2;
const RATE = 1_000;
const RATE_S = 6;
const GIFT_ID = 'bench-pg-g1';

runBench('policies-gateway', { deadlineS: 200 }, async (ctx) => {
  ctx.step('starting provider stub, query, delivery');
  const suite = await ctx.startSuite({ gateways: 0 });
  const origins: Record<'on' | 'off', string> = { on: '', off: '' };
  for (const mode of ['on', 'off'] as const) {
    ctx.step(`starting gateway with RESILIENCE_POLICIES=${mode}`);
    const gw = await extraGateway(suite, { RESILIENCE_POLICIES: mode }, `gateway-${mode}`);
    ctx.defer(() => gw.app.stop());
    origins[mode] = gw.url;
  }
  await publishActivity({ ...suite, gatewayUrls: [origins.on] }, 'bench-pg', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  const [authorization] = await userAuthHeaders(suite, 'bench-pg-reader', 1);
  const path = `/api/gifts/${GIFT_ID}`;
  const headers = { authorization };
  for (const mode of ['on', 'off'] as const) {
    ctx.step(`${mode}: warm-up`);
    await runHttpLoad({ origin: origins[mode], path, headers, connections: CONNECTIONS, durationS: 3 });
  }
  const max: Record<'on' | 'off', LoadResult[]> = { on: [], off: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['on', 'off'] as const) {
      ctx.step(`round ${round + 1}: policies ${mode}, max for ${MAX_S} s`);
      max[mode].push(await runHttpLoad({ origin: origins[mode], path, headers, connections: CONNECTIONS, durationS: MAX_S }));
    }
  }
  const paced: Partial<Record<'on' | 'off', LoadResult>> = {};
  for (const mode of ['on', 'off'] as const) {
    ctx.step(`policies ${mode}: ${RATE} req/s for ${RATE_S} s`);
    const caller = new HttpCaller(origins[mode], 64);
    paced[mode] = await runPacedLoop({
      ratePerS: RATE,
      durationS: RATE_S,
      maxInFlight: 256,
      call: async () => {
        const status = await caller.status({ path, headers });
        return status === 200 || String(status);
      },
    });
    await caller.close();
  }
  const rows: string[][] = [];
  for (const mode of ['on', 'off'] as const) {
    max[mode].forEach((r, i) => rows.push(resultRow(`policies ${mode}`, `max round ${i + 1}, ${CONNECTIONS} conns`, r)));
  }
  rows.push(resultRow('policies on', `${RATE}/s paced`, paced.on!), resultRow('policies off', `${RATE}/s paced`, paced.off!));
  printTable(`GET ${path} through the gateway, policies on vs off`, RESULT_HEADER, rows);
  const mean = (runs: LoadResult[]) => runs.reduce((n, r) => n + r.okPerS, 0) / runs.length;
  const ratio = mean(max.on) / mean(max.off);
  console.log('');
  console.log(`max req/s, policies on / off: ${fmtRatio(ratio)}  (goal >= 90%: ${verdict(ratio >= 0.9)})`);
  console.log(`p50 at ${RATE}/s: on ${fmtMs(paced.on!.p50Ms)} ms, off ${fmtMs(paced.off!.p50Ms)} ms; p99 on ${fmtMs(paced.on!.p99Ms)} ms, off ${fmtMs(paced.off!.p99Ms)} ms`);
  console.log('Load generator, apps and Redis share the same cores; compare figures of one run only.');
});
