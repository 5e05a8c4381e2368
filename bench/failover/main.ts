import { http } from '../../test/support/http.js';
import type { Suite } from '../../test/support/suite.js';
import { runBench, type BenchContext } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { fmtMs, printTable } from '../support/report.js';

/**
 * bench/failover: the e2e routing scenario, once with Rampart's success-rate routing and once with
 * plain round robin (ROUTING_MODE), each on a fresh deployment of 4 query instances, side by side.
 * Steady read load: CONCURRENCY closed loops of GET /api/gifts/{id}. Phases per mode:
 *  - SIGKILL query-1, measure PHASE_S seconds (it stays dead);
 *  - SIGSTOP query-2 (a hung process), measure PHASE_S seconds, then SIGCONT.
 * 4 instances (not 3) so both faults fit in the default 50% ejection share at once.
 * Printed per phase: requests, success rate, p50/p99 of all answers (failures included: a client
 * waits for them too), requests lost, and the success rate from 2 s (kill) / 3 s (stop) after.
 */
const CONCURRENCY = 20;
const WARMUP_S = 3;
const PHASE_S = 8;
const GIFT_ID = 'bench-fo-g1';
const MODES = ['success-rate', 'round-robin'] as const;

interface Sample {
  atMs: number;
  latencyMs: number;
  isOk: boolean;
}

function steadyLoad(url: string, authorization: string) {
  const samples: Sample[] = [];
  let isRunning = true;
  const worker = async () => {
    while (isRunning) {
      const atMs = Date.now();
      let isOk = false;
      try {
        const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        isOk = res.status === 200;
      } catch {
        isOk = false;
      }
      samples.push({ atMs, latencyMs: Date.now() - atMs, isOk });
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  return { samples, stop: () => ((isRunning = false), Promise.all(workers)) };
}

function stats(samples: Sample[], fromMs: number, toMs: number) {
  const s = samples.filter((x) => x.atMs >= fromMs && x.atMs < toMs);
  const sorted = s.map((x) => x.latencyMs).sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))] ?? NaN;
  const ok = s.filter((x) => x.isOk).length;
  return { requests: s.length, rate: s.length ? ok / s.length : NaN, p50: at(50), p99: at(99), lost: s.length - ok };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');

async function scenario(ctx: BenchContext, mode: (typeof MODES)[number]) {
  ctx.step(`${mode}: starting provider stub, 4 query, 1 delivery, gateway`);
  const suite: Suite = await ctx.startSuite({ queries: 4, deliveries: 1, gatewayEnv: { ROUTING_MODE: mode } });
  await publishActivity(suite, 'bench-fo', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  const [authorization] = await userAuthHeaders(suite, 'bench-fo', 1);
  const load = steadyLoad(`${suite.gatewayUrls[0]}/api/gifts/${GIFT_ID}`, authorization);
  ctx.defer(() => load.stop());
  await pause(WARMUP_S * 1000);
  ctx.step(`${mode}: SIGKILL query-1`);
  const killedAt = Date.now();
  suite.queries[0].signal('SIGKILL');
  await pause(PHASE_S * 1000);
  ctx.step(`${mode}: SIGSTOP query-2`);
  const stoppedAt = Date.now();
  suite.queries[1].signal('SIGSTOP');
  await pause(PHASE_S * 1000);
  const endAt = Date.now();
  suite.queries[1].signal('SIGCONT');
  await load.stop();
  const upstreams = await http('GET', `${suite.gatewayUrls[0]}/admin/upstreams`, { token: suite.adminToken });
  const states = (upstreams.body?.query ?? []).map((u: { state: string }) => u.state).join(',');
  return {
    mode,
    states,
    kill: stats(load.samples, killedAt, stoppedAt),
    killAfter: stats(load.samples, killedAt + 2_000, stoppedAt),
    stop: stats(load.samples, stoppedAt, endAt),
    stopAfter: stats(load.samples, stoppedAt + 3_000, endAt),
  };
}

runBench('failover', { deadlineS: 240 }, async (ctx) => {
  const results = [];
  for (const mode of MODES) results.push(await scenario(ctx, mode));
  const rows: string[][] = [];
  for (const r of results) {
    rows.push([r.mode, `SIGKILL (${PHASE_S} s)`, String(r.kill.requests), pct(r.kill.rate), fmtMs(r.kill.p50), fmtMs(r.kill.p99), String(r.kill.lost), `${pct(r.killAfter.rate)} from 2 s, p99 ${fmtMs(r.killAfter.p99)}`]);
    rows.push([r.mode, `SIGSTOP (${PHASE_S} s)`, String(r.stop.requests), pct(r.stop.rate), fmtMs(r.stop.p50), fmtMs(r.stop.p99), String(r.stop.lost), `${pct(r.stopAfter.rate)} from 3 s, p99 ${fmtMs(r.stopAfter.p99)}`]);
  }
  printTable(
    `failover: ${CONCURRENCY} concurrent GET /api/gifts/{id}, 4 query instances; p50/p99 over every answer`,
    ['routing', 'phase', 'requests', 'success', 'p50 ms', 'p99 ms', 'lost', 'steady state after the fault'],
    rows,
  );
  for (const r of results) console.log(`${r.mode}: query instance states at the end: ${r.states}`);
  const [sr, rr] = results;
  console.log(`requests lost: success-rate ${sr.kill.lost + sr.stop.lost}, round-robin ${rr.kill.lost + rr.stop.lost}`);
});
