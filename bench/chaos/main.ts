import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { http } from '../../test/support/http.js';
import { providerStats, setFaults } from '../../test/support/orders.js';
import { freePort } from '../../test/support/ports.js';
import { startRedisServer } from '../../test/support/redis.js';
import { spawnApp, tail, type RunningApp } from '../../test/support/spawn-app.js';
import { runBench, type BenchContext } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { LatencyRecorder } from '../support/latency-recorder.js';
import { fmtMs, printTable } from '../support/report.js';
import { startMixedLoad, type ClaimRecord, type Op } from './mixed-load.js';
import { readOrders, waitForDelivered, type OrderState } from './order-audit.js';

/**
 * bench/chaos: the whole suite under steady mixed load while faults are injected in turn.
 *
 * Deployment: a private redis-server with `--appendonly yes --appendfsync always` (a restart loses
 * nothing acknowledged), the provider stub (order numbers), 3 query, 2 delivery, 1 gateway with
 * success-rate routing (the default). Delivery runs with PROVIDER_TIMEOUT_MS=1000, so the "slow"
 * provider (1500 ms) times out and a claim answers 202 `queued` instead of waiting.
 *
 * Load: CONCURRENCY closed-loop clients (see mixed-load.ts): reads (gift, activity, my orders) and
 * claims with fresh Idempotency-Keys from USERS users, repeated with the same key on 5xx/network
 * errors (at most CLAIM_ATTEMPTS sends). Gifts: two large sync gifts, one async gift, and one
 * scarce sync gift (SCARCE_INVENTORY) whose 409 SOLD_OUT answers are expected.
 *
 * Phases (PHASE_S each, the fault injected at the start): baseline; SIGKILL query-1 (restarted on
 * its port after QUERY_RESTART_S, as a supervisor would); SIGSTOP query-2 (SIGCONT at the end);
 * provider slow; provider failing (503 to every call); provider recovered; Redis kill -9 and
 * restart on the same dir/port after REDIS_DOWN_S; after (nothing injected).
 *
 * Goals (printed, never asserted; exit code 0 either way):
 *  - orders lost = 0: every claim answered 2xx ends `delivered` (polled up to SETTLE_WAIT_S after the
 *    load) and the provider has delivered it;
 *  - duplicate deliveries = 0: no order delivered twice by the provider, effectiveDeliveries equals
 *    the orders Rampart reports delivered, nothing delivered for an order Rampart failed;
 *  - the scarce gift is never oversold.
 */
const CONCURRENCY = 16;
const READ_SHARE = 0.55;
const USERS = 400;
const CLAIM_ATTEMPTS = 4;
const SEND_TIMEOUT_MS = 5_000;
const PHASE_S = 10;
const QUERY_RESTART_S = 3;
const REDIS_DOWN_S = 2;
const SETTLE_WAIT_S = 60;
const TAIL_S = 3;
const PROVIDER_TIMEOUT_MS = 1_000;
const SLOW_LATENCY_MS = 1_500;
const SCARCE_INVENTORY = 150;
const BIG = 10_000_000;
const ACTIVITY_ID = 'chaos';
const GIFTS = { sync1: 'chaos-sync-1', sync2: 'chaos-sync-2', async: 'chaos-async', scarce: 'chaos-scarce' };
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always'];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (ok: number, n: number) => (n ? `${((ok / n) * 100).toFixed(2)}%` : '-');

interface Phase {
  name: string;
  /** Injects the fault; runs at the phase's start, while the load goes on. */
  enter?: () => Promise<void>;
  /** Undoes it at the phase's end (before the next phase starts). */
  exit?: () => Promise<void>;
}

interface PhaseMark {
  startMs: number;
  endMs: number;
  providerCallsBefore: number;
  providerCallsAfter: number;
  upstreams: string;
  notes: string[];
}

runBench('chaos', { deadlineS: 235 }, async (ctx) => {
  ctx.step('starting redis-server (AOF, fsync always)');
  let redis = await startRedisServer({ args: DURABLE });
  const { port: redisPort, dir: redisDir } = redis;
  ctx.defer(async () => {
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
  });

  ctx.step('starting provider stub, 3 query, 2 delivery, 1 gateway (success-rate routing)');
  const suite = await ctx.startSuite({
    redisUrl: redis.url,
    queries: 3,
    deliveries: 2,
    gateways: 1,
    deliveryEnv: { PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS) },
  });
  const gw = suite.gatewayUrls[0];
  const extraApps: RunningApp[] = [];
  ctx.defer(() => Promise.all(extraApps.map((a) => a.stop(2_000))));

  await publishActivity(suite, ACTIVITY_ID, [
    { giftId: GIFTS.sync1, inventory: BIG, perUserLimit: BIG },
    { giftId: GIFTS.sync2, inventory: BIG, perUserLimit: BIG },
    { giftId: GIFTS.async, inventory: BIG, perUserLimit: BIG, delivery: 'async' },
    { giftId: GIFTS.scarce, inventory: SCARCE_INVENTORY, perUserLimit: BIG },
  ]);
  const authorizations = await userAuthHeaders(suite, 'chaos-user', USERS);

  const upstreamStates = async (): Promise<string> => {
    try {
      const res = await http('GET', `${gw}/admin/upstreams`, { token: suite.adminToken, timeoutMs: 2_000 });
      const fmt = (list: Array<{ state: string }> = []) => list.map((u) => u.state).join(',');
      return `query ${fmt(res.body?.query)}; delivery ${fmt(res.body?.delivery)}`;
    } catch (err) {
      return `unreadable (${String(err)})`;
    }
  };
  const providerCalls = async (): Promise<number> => (await providerStats(suite.providerUrl)).calls;

  let restartedQuery: RunningApp | undefined;
  const phases: Phase[] = [
    { name: 'baseline' },
    {
      name: 'SIGKILL query-1',
      enter: async () => {
        suite.queries[0].signal('SIGKILL');
        await pause(QUERY_RESTART_S * 1000);
        restartedQuery = await spawnApp(
          'query',
          { REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, TCP_PORT: String(suite.queryTcpPorts[0]), HTTP_PORT: String(await freePort()) },
          { label: 'query-1b' },
        );
        extraApps.push(restartedQuery);
        marks[marks.length - 1].notes.push(`query-1 restarted after ${QUERY_RESTART_S} s`);
      },
    },
    {
      name: 'SIGSTOP query-2',
      enter: async () => suite.queries[1].signal('SIGSTOP'),
      exit: async () => suite.queries[1].signal('SIGCONT'),
    },
    { name: `provider slow ${SLOW_LATENCY_MS} ms`, enter: () => setFaults(suite.providerUrl, { latencyMs: SLOW_LATENCY_MS }) },
    { name: 'provider failing 503', enter: () => setFaults(suite.providerUrl, { errorRate: 1 }) },
    { name: 'provider recovered', enter: () => setFaults(suite.providerUrl, {}) },
    {
      name: 'Redis kill -9 + restart',
      enter: async () => {
        redis.child.kill('SIGKILL');
        await new Promise((r) => (redis.child.exitCode !== null || redis.child.signalCode !== null ? r(undefined) : redis.child.once('exit', r)));
        await pause(REDIS_DOWN_S * 1000);
        redis = await startRedisServer({ port: redisPort, dir: redisDir, args: DURABLE });
        marks[marks.length - 1].notes.push(`redis down ${REDIS_DOWN_S} s, restarted`);
      },
    },
    { name: 'after (no fault)' },
  ];

  const runId = randomUUID().slice(0, 8);
  let phaseIndex = 0;
  const marks: PhaseMark[] = [];
  const load = startMixedLoad({
    origin: gw,
    concurrency: CONCURRENCY,
    readShare: READ_SHARE,
    activityId: ACTIVITY_ID,
    readGiftIds: Object.values(GIFTS),
    claimTargets: [
      { giftId: GIFTS.sync1, weight: 40 },
      { giftId: GIFTS.sync2, weight: 30 },
      { giftId: GIFTS.async, weight: 15 },
      { giftId: GIFTS.scarce, weight: 15 },
    ],
    authorizations,
    runId,
    claimAttempts: CLAIM_ATTEMPTS,
    sendTimeoutMs: SEND_TIMEOUT_MS,
    phase: () => phaseIndex,
  });
  // Log lines naming the request id (or key) of a 5xx, gathered at each phase's end before the
  // apps' log buffers (last 1000-2000 lines) roll over.
  const evidence = new Map<string, string[]>();
  const collectEvidence = (): void => {
    const apps = [...suite.gateways, ...suite.queries, ...suite.deliveries, ...extraApps];
    for (const e of shownErrors()) {
      const id = e.requestId ?? e.key;
      if (!id || evidence.has(id)) continue;
      const lines: string[] = [];
      for (const app of apps) {
        for (const line of app.logs) if ((e.requestId && line.includes(e.requestId)) || (e.key && line.includes(e.key))) lines.push(`[${app.name}] ${line.slice(0, 600)}`);
      }
      evidence.set(id, lines.slice(0, 8));
    }
  };
  // The 5xx/no-answer sends shown with evidence: the first 6, and the first 4 without an answer.
  const shownErrors = () => [...load.serverErrors.filter((e) => e.status !== 0).slice(0, 6), ...load.serverErrors.filter((e) => e.status === 0).slice(0, 4)];
  let loadStopped: Promise<void> | undefined;
  const stopLoad = () => (loadStopped ??= load.stop());
  ctx.defer(stopLoad);

  for (const [i, phase] of phases.entries()) {
    phaseIndex = i;
    ctx.step(`phase ${i + 1}/${phases.length}: ${phase.name}`);
    const mark: PhaseMark = { startMs: load.now(), endMs: 0, providerCallsBefore: await providerCalls(), providerCallsAfter: 0, upstreams: '', notes: [] };
    marks.push(mark);
    const injected = phase.enter?.().catch((err: unknown) => {
      mark.notes.push(`injection failed: ${String(err)}`);
    });
    await pause(PHASE_S * 1000);
    await injected;
    mark.upstreams = await upstreamStates();
    collectEvidence();
    await phase.exit?.();
    mark.endMs = load.now();
    mark.providerCallsAfter = await providerCalls();
  }
  ctx.step('stopping the load');
  await stopLoad();

  // ---- per-phase table ----
  const rows: string[][] = [];
  const detailRows: string[][] = [];
  for (const [i, phase] of phases.entries()) {
    const ops = load.ops.filter((o) => o.phase === i);
    const mark = marks[i];
    const tailOps = ops.filter((o) => o.atMs >= mark.endMs - TAIL_S * 1000);
    const reads = ops.filter((o) => o.kind === 'read');
    const claimOps = ops.filter((o) => o.kind === 'claim');
    const latencies = new LatencyRecorder();
    for (const o of ops) latencies.record(o.latencyMs);
    const [p50, p99] = latencies.percentiles(50, 99);
    const ok = ops.filter((o) => o.correct).length;
    const repeats = claimOps.reduce((s, o) => s + o.sends - 1, 0);
    rows.push([
      phase.name,
      String(ops.length),
      pct(ok, ops.length),
      pct(reads.filter((o) => o.correct).length, reads.length),
      pct(claimOps.filter((o) => o.correct).length, claimOps.length),
      fmtMs(p50),
      fmtMs(p99),
      pct(tailOps.filter((o) => o.correct).length, tailOps.length),
      String(repeats),
      String(mark.providerCallsAfter - mark.providerCallsBefore),
    ]);
    detailRows.push([phase.name, countOutcomes(ops), answers2xx(load.claims, i), repeatCauses(load.claims, i), mark.upstreams, mark.notes.join('; ') || '-']);
  }
  printTable(
    `chaos: ${CONCURRENCY} closed-loop clients through 1 gateway (3 query, 2 delivery, success-rate routing), ${PHASE_S} s per phase, ${Math.round(READ_SHARE * 100)}% reads / ${Math.round((1 - READ_SHARE) * 100)}% claims`,
    ['phase', 'requests', 'success', 'reads ok', 'claims ok', 'p50 ms', 'p99 ms', `ok last ${TAIL_S} s`, 'claim repeats', 'provider calls'],
    rows,
  );
  console.log(
    'A request = one read, or one claim with its same-key repeats (5xx/network error, at most ' +
      `${CLAIM_ATTEMPTS} sends); it counts in the phase it started in; latency is first send to final answer, over every answer.\n` +
      'Success = a correct answer: reads 200; claims 200/202 with orderId = the key, or the contract refusals 409 ' +
      '(SOLD_OUT on the scarce gift) and 429 RATE_LIMITED. 5xx after the repeats, network errors and other 4xx are failures.',
  );
  console.log('\nchaos: answers per phase');
  for (const [i, row] of detailRows.entries()) {
    const [name, notOk, answers, repeats, upstreams, notes] = row;
    console.log(`${i + 1}. ${name}: claim answers ${answers}; not ok: ${notOk}; repeated claim sends: ${repeats}; at the end: ${upstreams}${notes === '-' ? '' : `; ${notes}`}`);
  }
  if (load.serverErrors.length) {
    console.log(`\nchaos: 5xx answers and sends without an answer (${load.serverErrors.length}${load.serverErrors.length >= 500 ? '+' : ''}); some, with the apps' log lines naming their request id or key:`);
    for (const e of shownErrors()) {
      // Placed by when the failing send went out (the request may have started in the phase before).
      const at = Math.max(0, marks.findLastIndex((m) => m.startMs <= e.atMs));
      console.log(`- sent ${((e.atMs - marks[at].startMs) / 1000).toFixed(1)} s into phase ${at + 1} (${phases[at].name}): ${e.what} -> ${e.status || 'no answer'} ${e.code ?? ''} requestId ${e.requestId ?? '-'}${e.key ? ` key ${e.key}` : ''}`);
      for (const line of evidence.get(e.requestId ?? e.key ?? '') ?? []) console.log(`    ${line}`);
    }
  }

  // ---- orders: wait for the acknowledged ones, then audit everything ----
  const acknowledged = load.claims.filter((c) => c.status >= 200 && c.status < 300);
  ctx.step(`waiting up to ${SETTLE_WAIT_S} s for ${acknowledged.length} acknowledged orders to be delivered`);
  const settled = await waitForDelivered(gw, authorizations, acknowledged, {
    waitMs: SETTLE_WAIT_S * 1000,
    intervalMs: 2_000,
    concurrency: CONCURRENCY,
    progress: (m) => ctx.step(m),
  });
  const unacknowledged = load.claims.filter((c) => c.status === 0 || c.status >= 500);
  const unackStates = await readOrders(gw, authorizations, unacknowledged, CONCURRENCY);
  const stats = await providerStats(suite.providerUrl);
  const queues = await http('GET', `${gw}/admin/queues`, { token: suite.adminToken }).catch(() => undefined);

  const scarce = await http('GET', `${gw}/api/gifts/${GIFTS.scarce}`, { headers: { authorization: authorizations[0] } }).catch(() => undefined);
  report({ claims: load.claims, acknowledged, settled, unacknowledged, unackStates, stats, queues: queues?.body, scarceRemaining: scarce?.body?.remaining });

  // Evidence for a lost order: the apps' lines that name it.
  const lost = acknowledged.filter((c) => settled.states.get(c.key)?.status !== 'delivered' || (stats.byOrder[c.key]?.deliveries ?? 0) === 0);
  if (lost.length) {
    const apps = [...suite.deliveries, ...suite.gateways, ...extraApps];
    for (const c of lost.slice(0, 5)) {
      console.log(`\nlog lines naming ${c.key}:`);
      for (const app of apps) for (const line of app.logs.filter((l) => l.includes(c.key)).slice(-10)) console.log(`  [${app.name}] ${line}`);
    }
    console.log(suite.deliveries.map((a) => tail(a, 15)).join('\n'));
  }
});

function countOutcomes(ops: Op[]): string {
  const counts: Record<string, number> = {};
  for (const o of ops) if (!o.correct) counts[`${o.kind} ${o.outcome}`] = (counts[`${o.kind} ${o.outcome}`] ?? 0) + 1;
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, n]) => `${k} x${n}`).join(', ') : '-';
}

/** Why claims were repeated: the outcome of every send that was followed by another. */
function repeatCauses(claims: ClaimRecord[], phase: number): string {
  const counts: Record<string, number> = {};
  for (const c of claims) if (c.phase === phase) for (const s of c.sends.slice(0, -1)) counts[s] = (counts[s] ?? 0) + 1;
  return Object.entries(counts).map(([k, n]) => `${k} x${n}`).join(', ') || '-';
}

function answers2xx(claims: ClaimRecord[], phase: number): string {
  const counts: Record<string, number> = {};
  for (const c of claims) {
    if (c.phase !== phase) continue;
    const k = c.status >= 200 && c.status < 300 ? `${c.status} ${c.orderStatus}` : c.status === 409 ? '409' : undefined;
    if (k) counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.entries(counts).map(([k, n]) => `${k} x${n}`).join(', ') || '-';
}

function report(r: {
  claims: ClaimRecord[];
  acknowledged: ClaimRecord[];
  settled: { states: Map<string, OrderState>; waitedMs: number };
  unacknowledged: ClaimRecord[];
  unackStates: Map<string, OrderState>;
  stats: { calls: number; effectiveDeliveries: number; byOrder: Record<string, { calls: number; deliveries: number }>; byOrderTruncated?: boolean };
  queues: unknown;
  scarceRemaining: number | undefined;
}): void {
  const { claims, acknowledged, settled, unacknowledged, unackStates, stats } = r;
  const byStatus = (list: ClaimRecord[], states: Map<string, OrderState>) => {
    const counts: Record<string, number> = {};
    for (const c of list) {
      const s = states.get(c.key)?.status ?? 'unread';
      counts[s] = (counts[s] ?? 0) + 1;
    }
    return Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ') || '-';
  };
  const refused = claims.filter((c) => c.status >= 400 && c.status < 500);
  const refusedBy: Record<string, number> = {};
  for (const c of refused) refusedBy[c.sends[c.sends.length - 1]] = (refusedBy[c.sends[c.sends.length - 1]] ?? 0) + 1;
  const ack200 = acknowledged.filter((c) => c.status === 200).length;

  console.log('\nchaos: orders');
  console.log(`claim keys sent: ${claims.length}; answered 2xx: ${acknowledged.length} (200 ${ack200}, 202 ${acknowledged.length - ack200}); refused 4xx: ${refused.length} (${Object.entries(refusedBy).map(([k, n]) => `${k} x${n}`).join(', ') || '-'}); no 2xx/4xx after ${CLAIM_ATTEMPTS} sends: ${unacknowledged.length}`);
  console.log(`acknowledged orders after waiting ${(settled.waitedMs / 1000).toFixed(1)} s (bound ${SETTLE_WAIT_S} s): ${byStatus(acknowledged, settled.states)}`);
  console.log(`unacknowledged keys (client gave up; Rampart may still finish them): ${byStatus(unacknowledged, unackStates)}`);

  // Orders lost: acknowledged but not delivered, or delivered in Rampart and never at the provider.
  const notDelivered = acknowledged.filter((c) => settled.states.get(c.key)?.status !== 'delivered');
  const phantom = acknowledged.filter((c) => settled.states.get(c.key)?.status === 'delivered' && (stats.byOrder[c.key]?.deliveries ?? 0) === 0);
  const lost = notDelivered.length + phantom.length;
  console.log(`${lost === 0 ? 'ok    ' : 'FAILED'} orders lost: ${lost} (goal 0): acknowledged but not delivered ${notDelivered.length}, "delivered" without a provider delivery ${phantom.length}`);
  for (const c of [...notDelivered, ...phantom].slice(0, 20)) {
    console.log(`  lost ${c.key} gift ${c.giftId} user chaos-user-${c.user} phase ${c.phase + 1} sends [${c.sends.join(' | ')}] -> ${JSON.stringify(settled.states.get(c.key) ?? 'unread')} provider ${JSON.stringify(stats.byOrder[c.key] ?? null)}`);
  }

  // Duplicates.
  const doubled = Object.entries(stats.byOrder).filter(([, o]) => o.deliveries > 1);
  const providerDelivered = Object.entries(stats.byOrder).filter(([, o]) => o.deliveries >= 1).map(([k]) => k);
  const allStates = new Map<string, OrderState>([...unackStates, ...settled.states]);
  const rampartDelivered = claims.filter((c) => allStates.get(c.key)?.status === 'delivered').length;
  const deliveredButFailed = providerDelivered.filter((k) => allStates.get(k)?.status === 'failed' || allStates.get(k)?.status === 'absent');
  const unknownToUs = providerDelivered.filter((k) => !allStates.has(k));
  const dupCount = doubled.length + deliveredButFailed.length + Math.max(0, stats.effectiveDeliveries - providerDelivered.length);
  console.log(
    `${dupCount === 0 ? 'ok    ' : 'FAILED'} duplicate deliveries: ${dupCount} (goal 0): orders delivered more than once ${doubled.length}; ` +
      `effectiveDeliveries ${stats.effectiveDeliveries} vs distinct orders delivered ${providerDelivered.length}; ` +
      `delivered for an order Rampart has failed/absent ${deliveredButFailed.length}`,
  );
  for (const [k, o] of doubled.slice(0, 10)) console.log(`  doubled ${k} ${JSON.stringify(o)} rampart ${JSON.stringify(allStates.get(k) ?? 'unread')}`);
  for (const k of deliveredButFailed.slice(0, 10)) console.log(`  delivered but ${allStates.get(k)?.status}: ${k}`);
  const consistent = stats.effectiveDeliveries === rampartDelivered;
  console.log(
    `${consistent ? 'ok    ' : 'note  '} provider effectiveDeliveries ${stats.effectiveDeliveries} vs orders Rampart reports delivered ${rampartDelivered}` +
      (unknownToUs.length ? ` (${unknownToUs.length} delivered orders not read back)` : '') +
      (consistent ? '' : ' (a difference is an unacknowledged order still in flight, or a loss/duplicate above)'),
  );

  // Oversell of the scarce gift: its non-failed orders never exceed the inventory.
  const scarceHeld = claims.filter((c) => c.giftId === GIFTS.scarce && !['failed', 'absent', undefined].includes(allStates.get(c.key)?.status)).length;
  const scarceUnread = claims.filter((c) => c.giftId === GIFTS.scarce && !allStates.has(c.key)).length;
  const taken = r.scarceRemaining === undefined ? undefined : SCARCE_INVENTORY - r.scarceRemaining;
  const scarceOk = scarceHeld <= SCARCE_INVENTORY && taken === scarceHeld;
  console.log(
    `${scarceOk ? 'ok    ' : 'FAILED'} scarce gift (no oversell): ${scarceHeld} orders hold it, inventory ${SCARCE_INVENTORY}, ` +
      `taken per GET /api/gifts (inventory - remaining) ${taken ?? 'unreadable'} (${scarceUnread} refused keys not read back)`,
  );

  // Provider calls.
  const perOrder = Object.values(stats.byOrder);
  const resent = perOrder.filter((o) => o.calls > 1).length;
  const maxCalls = perOrder.reduce((m, o) => Math.max(m, o.calls), 0);
  console.log(
    `provider: ${stats.calls} calls for ${perOrder.length} orders, ${stats.effectiveDeliveries} effective deliveries; ` +
      `${resent} orders called more than once (re-sends the order number made harmless), most calls for one order ${maxCalls}` +
      (stats.byOrderTruncated ? ' (byOrder truncated)' : ''),
  );
  console.log(`delivery queue at the end: ${JSON.stringify(r.queues ?? 'unreadable')}`);
}
