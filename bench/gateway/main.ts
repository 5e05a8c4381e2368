import { join } from 'node:path';
import { http } from '../../test/support/http.js';
import { freePort } from '../../test/support/ports.js';
import { runBench, type BenchContext } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { runPacedLoop } from '../support/loop-load.js';
import { cpuByKind, pidsNamed } from '../support/process-cpu.js';
import { spawnScript } from '../support/spawn-script.js';
import { fmtMs, fmtRatio, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';
import { measureRolloutCost } from './rollout.side.js';

/**
 * bench/gateway: `GET /api/gifts/{id}` through the gateway (HTTP -> gateway -> TCP -> query ->
 * Redis) vs the same read in one Fastify process with no hop (no-hop.server.ts), same run, same
 * Redis data. Two measurements per path:
 *  - max: closed loop (autocannon, CONNECTIONS connections) -> req/s, and their ratio;
 *  - fixed rate: RATE req/s sent evenly (open loop) -> p50/p99, and the p50 the hop adds.
 * With the max runs, the CPU time per answered read of each kind of process (/proc), so that where
 * the hop's time goes is in the same run. Goal (issue 18): gateway >= 60% of the no-hop req/s, and
 * < 0.5 ms added p50. Printed, not asserted.
 * Then the gray-release side (rollout.side.ts): a rollout active vs none (goal >= 97%).
 * `BENCH_GATEWAY_PART=rollout` runs only that side, `hop` only the first part.
 */
const CONNECTIONS = 50;
const WARMUP_S = 3;
const MAX_S = 10;
const RATE = 1_000;
const RATE_S = 8;
const GIFT_ID = 'bench-gw-g1';

runBench('gateway', { deadlineS: 300 }, async (ctx) => {
  const part = process.env.BENCH_GATEWAY_PART ?? 'all';
  if (part !== 'rollout') await measureHop(ctx);
  if (part !== 'hop') await measureRolloutCost(ctx);
});

/** Gateway vs no hop (issue 2). */
async function measureHop(ctx: BenchContext): Promise<void> {
  ctx.step('starting provider stub, query, delivery, gateway');
  const suite = await ctx.startSuite();
  await publishActivity(suite, 'bench-gw', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  ctx.step('starting the no-hop server');
  const noHopPort = await freePort();
  const noHop = await spawnScript(
    join(__dirname, 'no-hop.server.ts'),
    { REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, PORT: String(noHopPort) },
    { name: 'no-hop' },
  );
  ctx.defer(() => noHop.stop());
  const [authorization] = await userAuthHeaders(suite, 'bench-reader', 1);
  const path = `/api/gifts/${GIFT_ID}`;
  const targets = [
    { name: 'gateway', origin: suite.gatewayUrls[0], headers: { authorization } },
    { name: 'no-hop', origin: `http://127.0.0.1:${noHopPort}`, headers: {} as Record<string, string> },
  ];

  // Both must serve the same answer, or the comparison means nothing.
  const bodies = await Promise.all(targets.map((t) => http('GET', `${t.origin}${path}`, { headers: t.headers })));
  if (bodies.some((b) => b.status !== 200) || bodies[0].text !== bodies[1].text) {
    throw new Error(`the two paths disagree: ${bodies.map((b) => `${b.status} ${b.text}`).join(' | ')}`);
  }

  const max: Record<string, LoadResult> = {};
  const paced: Record<string, LoadResult> = {};
  // CPU of each kind of process over each max run (redis: every redis-server on the machine).
  const cpuNow = () =>
    cpuByKind([
      ['gateway', suite.gateways.map((a) => a.pid)], ['query', suite.queries.map((a) => a.pid)], ['no-hop', [noHop.pid]], ['redis', pidsNamed('redis-server')],
    ]);
  const cpuPerRead: Record<string, Record<string, number>> = {};
  for (const t of targets) {
    ctx.step(`${t.name}: warm-up ${WARMUP_S} s, then max for ${MAX_S} s`);
    await runHttpLoad({ origin: t.origin, path, headers: t.headers, connections: CONNECTIONS, durationS: WARMUP_S });
    const before = cpuNow();
    max[t.name] = await runHttpLoad({ origin: t.origin, path, headers: t.headers, connections: CONNECTIONS, durationS: MAX_S });
    const after = cpuNow();
    cpuPerRead[t.name] = Object.fromEntries(Object.keys(after).map((kind) => [kind, ((after[kind]! - before[kind]!) * 1000) / Math.max(1, max[t.name]!.ok)]));
  }
  for (const t of targets) {
    ctx.step(`${t.name}: ${RATE} req/s for ${RATE_S} s`);
    const caller = new HttpCaller(t.origin, 64);
    paced[t.name] = await runPacedLoop({
      ratePerS: RATE,
      durationS: RATE_S,
      maxInFlight: 256,
      call: async () => {
        const status = await caller.status({ path, headers: t.headers });
        return status === 200 || String(status);
      },
    });
    await caller.close();
  }

  printTable(`GET ${path}`, RESULT_HEADER, [
    resultRow('gateway -> TCP -> query', `max, ${CONNECTIONS} conns`, max.gateway),
    resultRow('no hop (Fastify + QueryRepository)', `max, ${CONNECTIONS} conns`, max['no-hop']),
    resultRow('gateway -> TCP -> query', `${RATE}/s paced`, paced.gateway),
    resultRow('no hop (Fastify + QueryRepository)', `${RATE}/s paced`, paced['no-hop']),
  ]);
  const kinds = Object.keys(cpuPerRead.gateway!);
  const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, us) => sum + us, 0);
  const us = (n: number | undefined) => (n ?? 0).toFixed(1);
  printTable(
    'CPU per answered read over each max run (µs, /proc; load generator: this process, autocannon included; redis: every redis-server on the machine)',
    ['path', ...kinds, 'all'],
    targets.map((t) => [t.name === 'gateway' ? 'gateway -> TCP -> query' : 'no hop', ...kinds.map((k) => us(cpuPerRead[t.name]![k])), us(total(cpuPerRead[t.name]!))]),
  );
  const ratio = max.gateway.okPerS / max['no-hop'].okPerS;
  const addedP50 = paced.gateway.p50Ms - paced['no-hop'].p50Ms;
  const addedP99 = paced.gateway.p99Ms - paced['no-hop'].p99Ms;
  console.log('');
  console.log(`max req/s, gateway / no hop: ${fmtRatio(ratio)}  (goal >= 60%: ${verdict(ratio >= 0.6)})`);
  console.log(`added p50 at ${RATE}/s: ${fmtMs(addedP50)} ms  (goal < 0.5 ms: ${verdict(addedP50 < 0.5)});  added p99: ${fmtMs(addedP99)} ms`);
  console.log('Load generator, apps and Redis share the same cores; compare figures of one run only.');
}
