import { randomUUID } from 'node:crypto';
import { extraGateway, fakeService } from '../../test/e2e/resilience-support.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { runPacedLoop } from '../support/loop-load.js';
import { fmtRatio, printTable, RESULT_HEADER, resultRow } from '../support/report.js';

/**
 * bench/isolation: fast-route (`GET /api/gifts/{id}`, query) throughput and p99, without and with
 * a hung slow dependency (the delivery instance accepts claims and never answers; 200 clients
 * keep claiming, each honouring Retry-After), on two gateways of one run: Rampart's classes on
 * (`RESILIENCE_POLICIES=on`: slow bulkhead sheds the excess at once, breaker opens) and off
 * (every claim waits its 3 s timeout). Printed, not asserted.
 */
const CONNECTIONS = 32;
const MAX_S = 6;
const RATE = 500;
const RATE_S = 6;
const SLOW_CLIENTS = 200;
const GIFT_ID = 'bench-iso-g1';

runBench('isolation', { deadlineS: 240 }, async (ctx) => {
  ctx.step('starting provider stub, query, delivery and the hung delivery stand-in');
  const suite = await ctx.startSuite();
  await publishActivity(suite, 'bench-iso', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  const hung = await fakeService(() => 'hang');
  ctx.defer(() => hung.close());
  const gateways: Record<string, string> = {};
  for (const mode of ['on', 'off'] as const) {
    ctx.step(`starting gateway with RESILIENCE_POLICIES=${mode}`);
    const gw = await extraGateway(suite, { DELIVERY_UPSTREAMS: hung.address, RESILIENCE_POLICIES: mode, CLAIM_RATE_LIMIT_PER_S: '0' }, `gateway-${mode}`);
    ctx.defer(() => gw.app.stop());
    gateways[mode] = gw.url;
  }
  const [authorization] = await userAuthHeaders(suite, 'bench-iso-reader', 1);
  const claimers = await userAuthHeaders(suite, 'bench-iso-claimer', SLOW_CLIENTS);
  const path = `/api/gifts/${GIFT_ID}`;

  const measure = async (origin: string): Promise<{ max: LoadResult; paced: LoadResult }> => {
    const max = await runHttpLoad({ origin, path, headers: { authorization }, connections: CONNECTIONS, durationS: MAX_S });
    const caller = new HttpCaller(origin, 64);
    const paced = await runPacedLoop({
      ratePerS: RATE,
      durationS: RATE_S,
      maxInFlight: 256,
      call: async () => {
        const status = await caller.status({ path, headers: { authorization } });
        return status === 200 || String(status);
      },
    });
    await caller.close();
    return { max, paced };
  };
  const slowLoad = (origin: string) => {
    const state = { isRunning: true, statuses: {} as Record<string, number> };
    const done = Promise.all(
      claimers.map(async (auth) => {
        while (state.isRunning) {
          const res = await fetch(`${origin}${path}/claims`, {
            method: 'POST',
            headers: { authorization: auth, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
            body: '{}',
          }).catch(() => undefined);
          if (!res) continue;
          await res.arrayBuffer();
          state.statuses[res.status] = (state.statuses[res.status] ?? 0) + 1;
          if (res.status === 503) await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
        }
      }),
    );
    return { state, stop: async () => ((state.isRunning = false), await done) };
  };

  const rows: string[][] = [];
  const summary: string[] = [];
  for (const mode of ['on', 'off'] as const) {
    const origin = gateways[mode];
    ctx.step(`classes ${mode}: warm-up, then fast route alone`);
    await runHttpLoad({ origin, path, headers: { authorization }, connections: CONNECTIONS, durationS: 2 });
    const alone = await measure(origin);
    ctx.step(`classes ${mode}: fast route with ${SLOW_CLIENTS} clients on the hung slow route`);
    const load = slowLoad(origin);
    await new Promise((r) => setTimeout(r, 1_000));
    const hungRun = await measure(origin);
    await load.stop();
    rows.push(
      resultRow(`classes ${mode}, slow dependency healthy-idle`, `max, ${CONNECTIONS} conns`, alone.max),
      resultRow(`classes ${mode}, slow dependency hung`, `max, ${CONNECTIONS} conns`, hungRun.max),
      resultRow(`classes ${mode}, slow dependency healthy-idle`, `${RATE}/s paced`, alone.paced),
      resultRow(`classes ${mode}, slow dependency hung`, `${RATE}/s paced`, hungRun.paced),
    );
    summary.push(
      `classes ${mode}: hung / alone max req/s ${fmtRatio(hungRun.max.okPerS / alone.max.okPerS)}; paced p99 ${alone.paced.p99Ms.toFixed(1)} -> ${hungRun.paced.p99Ms.toFixed(1)} ms; slow route answers ${JSON.stringify(load.state.statuses)}`,
    );
  }
  printTable(`fast route GET ${path} with and without a hung slow dependency`, RESULT_HEADER, rows);
  console.log('');
  for (const line of summary) console.log(line);
  console.log(`calls that reached the hung dependency: ${hung.state.received}`);
  console.log('Load generator, apps and Redis share the same cores; compare figures of one run only.');
});
