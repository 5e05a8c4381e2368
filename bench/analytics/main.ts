import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Flags, RedisKeys } from '@app/contracts';
import { Database } from '@app/platform';
import { testDatabaseUrl } from '../../test/support/database.js';
import { http } from '../../test/support/http.js';
import type { Suite } from '../../test/support/suite.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { fmtMs, fmtRate, fmtRatio, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';

/**
 * bench/analytics, two questions in one run:
 *
 * 1. What analytics cost the claim path: sync claims through the gateway (closed loop, 32
 *    connections, provider at 0 ms) with analytics on (reports written: one entry per sync claim,
 *    its settlement riding on it; one analyzer counting them) vs off (`report.disabled`, no analyzer
 *    running), alternating off/on ROUNDS times, so drift of the machine hits both sides alike.
 *    Goal: on ≥ 95% of off.
 * 2. Whether the analyzers keep up: report entries written straight into the stream (a claim and
 *    an outcome entry per claim, as for an async claim: the heavier case) at 3x the claims/s of part 1 (off), for
 *    OPEN_S s, with 1 and then 2 analyzers; the lag from an entry being written to its count being
 *    in PostgreSQL (sampled every 100 ms: p50/p99) and the entries/s per analyzer; then the drain
 *    rate of a backlog of BACKLOG entries (capacity). Goal: lag p99 stays bounded (no growing
 *    backlog) at 3x.
 */
const CONCURRENCY = 32;
const ROUND_S = 8;
const ROUNDS = 2;
const USERS = 500;
const OPEN_S = 15;
const BACKLOG = 120_000;
const GIFT_ID = 'bench-analytics-g1';
const ACTIVITY_ID = 'bench-analytics';
const INVENTORY = 100_000_000;

runBench('analytics', { deadlineS: 400 }, async (ctx) => {
  ctx.step('starting provider stub (0 ms), query, delivery, gateway');
  const suite = await ctx.startSuite({ providerEnv: { FAULT_LATENCY_MS: '0' } });
  await publishActivity(suite, ACTIVITY_ID, [{ giftId: GIFT_ID, inventory: INVENTORY, perUserLimit: INVENTORY }]);
  const authorizations = await userAuthHeaders(suite, 'bench-user', USERS);
  const redis = new Redis(suite.redisUrl);
  ctx.defer(() => redis.quit());
  const keys = new RedisKeys(suite.prefix);
  const db = new Database({ url: testDatabaseUrl(), schema: suite.databaseSchema, poolMax: 2, statementTimeoutMs: 10_000 });
  ctx.defer(() => db.close());
  const run = randomUUID().slice(0, 8);
  let seq = 0;

  const claims = (durationS: number): Promise<LoadResult> =>
    runHttpLoad({
      origin: suite.gatewayUrls[0],
      path: `/api/gifts/${GIFT_ID}/claims`,
      method: 'POST',
      connections: CONCURRENCY,
      durationS,
      isOk: (status) => status === 200,
      setupRequest: (request) => {
        seq += 1;
        return { ...request, headers: { authorization: authorizations[seq % USERS], 'idempotency-key': `ba-${run}-${seq}` } };
      },
    });
  const setReports = async (on: boolean) => {
    const res = await http('PUT', `${suite.gatewayUrls[0]}/admin/flags/${Flags.ReportDisabled}`, { token: suite.adminToken, body: { enabled: !on, reason: 'bench/analytics' } });
    if (res.status !== 200) throw new Error(`flag: ${res.status} ${res.text}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // flags reach every instance within a second
  };
  const stopAnalyzers = async () => {
    await Promise.all(suite.analyzers.map((a) => a.stop()));
    suite.analyzers.length = 0;
  };

  // Part 1: the claim path, analytics off vs on.
  ctx.step(`warm-up ${ROUND_S} s (reports off)`);
  await setReports(false);
  await claims(ROUND_S);
  const off: LoadResult[] = [];
  const on: LoadResult[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    ctx.step(`round ${round}/${ROUNDS}: off (report.disabled, no analyzer), ${ROUND_S} s`);
    await stopAnalyzers();
    await setReports(false);
    off.push(await claims(ROUND_S));
    ctx.step(`round ${round}/${ROUNDS}: on (reports, 1 analyzer), ${ROUND_S} s`);
    await suite.startAnalyzer(round);
    await setReports(true);
    on.push(await claims(ROUND_S));
  }
  const mean = (rs: LoadResult[]) => rs.reduce((n, r) => n + r.okPerS, 0) / rs.length;
  const offRate = mean(off);
  const onRate = mean(on);
  // What the analyzer counted of the `on` rounds, beside what the clients saw answered 200 (a
  // claim the gateway gave up on may still have been delivered and counted: e2e tests check
  // exactness, this only shows the analyzer kept up).
  const answeredOk = on.reduce((n, r) => n + r.ok, 0);
  const counted = await waitCounted(db, 'delivered', answeredOk, 30_000);
  await stopAnalyzers();
  await setReports(false);

  // Part 2: the analyzers against 3x part 1's claim rate, written straight into the stream.
  // 3x part 1's rate, or 3x ANALYTICS_BASE_CLAIMS_PER_S (e.g. what bench/claims reaches on a quiet machine).
  const rate = Math.round(3 * (Number(process.env.ANALYTICS_BASE_CLAIMS_PER_S) || offRate));
  const stream = keys.reports();
  const writer = new StreamWriter(redis, stream);
  const lagRuns: Array<{ analyzers: number; written: number; perS: number; p50: number; p99: number; max: number; backlogEnd: number }> = [];
  for (const analyzers of [1, 2]) {
    ctx.step(`${analyzers} analyzer(s) at ${fmtRate(rate)} claims/s (${fmtRate(2 * rate)} entries/s) for ${OPEN_S} s`);
    for (let i = 0; i < analyzers; i += 1) await suite.startAnalyzer(10 + analyzers * 10 + i);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    lagRuns.push({ analyzers, ...(await openLoop(db, writer, rate, OPEN_S)) });
    await stopAnalyzers();
  }
  ctx.step(`capacity: a backlog of ${fmtRate(BACKLOG)} entries, drained by 1 then 2 analyzers`);
  const drains: Array<{ analyzers: number; perS: number }> = [];
  for (const analyzers of [1, 2]) {
    const before = await countedEntries(db);
    await writer.write(BACKLOG / 2, Date.now());
    const started = Date.now();
    for (let i = 0; i < analyzers; i += 1) await suite.startAnalyzer(50 + analyzers * 10 + i);
    await waitUntil(async () => (await countedEntries(db)) >= before + BACKLOG, 120_000);
    drains.push({ analyzers, perS: BACKLOG / ((Date.now() - started) / 1000) });
    await stopAnalyzers();
  }

  printTable(`POST /api/gifts/{id}/claims, sync, provider at 0 ms, ${ROUNDS} x ${ROUND_S} s per side`, RESULT_HEADER, [
    ...off.map((r, i) => resultRow(`analytics off (round ${i + 1})`, `max, ${CONCURRENCY} conns`, r)),
    ...on.map((r, i) => resultRow(`analytics on (round ${i + 1})`, `max, ${CONCURRENCY} conns`, r)),
  ]);
  console.log('');
  console.log(`claims/s analytics on / off: ${fmtRate(onRate)} / ${fmtRate(offRate)} = ${fmtRatio(onRate / offRate)}  (goal >= 95%: ${verdict(onRate >= 0.95 * offRate)})`);
  console.log(`deliveries of the 'on' rounds counted by the analyzer: ${fmtRate(counted.counted)} (clients saw ${fmtRate(counted.expected)} answered 200)`);
  printTable(`analyzers at 3x the claim rate (${fmtRate(rate)} claims/s = ${fmtRate(2 * rate)} entries/s, ${OPEN_S} s)`, ['analyzers', 'entries written', 'entries/s per analyzer', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'backlog at end'], lagRuns.map((r) => [
    String(r.analyzers), fmtRate(r.written), fmtRate(r.perS / r.analyzers), fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), fmtRate(r.backlogEnd),
  ]));
  printTable(`capacity: draining ${fmtRate(BACKLOG)} entries`, ['analyzers', 'entries/s', 'entries/s per analyzer', 'claims/s (2 entries each)', 'x the claim rate of part 1'], drains.map((d) => [
    String(d.analyzers), fmtRate(d.perS), fmtRate(d.perS / d.analyzers), fmtRate(d.perS / 2), `${(d.perS / 2 / offRate).toFixed(1)}x`,
  ]));
  const keptUp = lagRuns.every((r) => r.backlogEnd < rate); // less than half a second of entries left when writing stopped
  console.log(`analyzers keep up with 3x the claim rate: ${verdict(keptUp)}`);
  console.log('Load generator, apps, analyzers, Redis and PostgreSQL share the same cores; compare figures of one run only.');
});

/** Writes report entries as the delivery reporter does (a claim and its outcome per claim), pipelined. */
class StreamWriter {
  private seq = 0;
  written = 0;
  constructor(private readonly redis: Redis, private readonly stream: string) {}

  /** Writes `claims` claims (2 entries each) stamped `at`; returns when Redis has them. */
  async write(claims: number, at: number): Promise<void> {
    for (let done = 0; done < claims; done += 500) {
      const pipeline = this.redis.pipeline();
      for (let i = 0; i < Math.min(500, claims - done); i += 1) {
        const orderId = `bw-${++this.seq}`;
        pipeline.xadd(this.stream, '*', 'kind', 'claim', 'orderId', orderId, 'giftId', GIFT_ID, 'status', 'delivered', 'at', at, 'latencyMs', 3);
        pipeline.xadd(this.stream, '*', 'kind', 'outcome', 'orderId', orderId, 'giftId', GIFT_ID, 'status', 'delivered', 'at', at);
      }
      await pipeline.exec();
      this.written += Math.min(500, claims - done) * 2;
    }
  }
}

/** Entries counted so far for the bench gift (claims and outcomes). */
async function countedEntries(db: Database): Promise<number> {
  const [row] = await db.query<{ n: string | null }>(`SELECT sum(count) AS n FROM ${db.table('analytics_counts')} WHERE gift_id = $1 AND metric IN ('claims', 'delivered')`, [GIFT_ID]);
  return Number(row?.n ?? 0);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitCounted(db: Database, metric: string, expected: number, timeoutMs: number): Promise<{ counted: number; expected: number }> {
  const read = async () => {
    const [row] = await db.query<{ n: string | null }>(`SELECT sum(count) AS n FROM ${db.table('analytics_counts')} WHERE gift_id = $1 AND metric = $2`, [GIFT_ID, metric]);
    return Number(row?.n ?? 0);
  };
  await waitUntil(async () => (await read()) >= expected, timeoutMs).catch(() => undefined);
  return { counted: await read(), expected };
}

/**
 * Writes `rate` claims/s (in 50 ms ticks) for `seconds`, sampling every 100 ms how many entries were
 * written and how many counted; an entry's lag is the time from its write to the first sample that
 * shows it counted.
 */
async function openLoop(db: Database, writer: StreamWriter, rate: number, seconds: number) {
  const base = await countedEntries(db);
  const writtenAt: Array<{ t: number; total: number }> = [];
  const startWritten = writer.written;
  const started = Date.now();
  const lags: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    let next = 0; // index into writtenAt of the first write not yet seen counted
    while (sampling || next < writtenAt.length) {
      const counted = (await countedEntries(db)) - base;
      const now = Date.now();
      while (next < writtenAt.length && writtenAt[next].total <= counted) lags.push(now - writtenAt[next++].t);
      if (!sampling && now - started > (seconds + 60) * 1000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  for (let tick = 0; Date.now() - started < seconds * 1000; tick += 1) {
    const claims = Math.round(rate / 20);
    const at = Date.now();
    await writer.write(claims, at);
    writtenAt.push({ t: at, total: writer.written - startWritten });
    const wait = started + (tick + 1) * 50 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const elapsedS = (Date.now() - started) / 1000;
  const backlogEnd = writer.written - startWritten - ((await countedEntries(db)) - base);
  sampling = false;
  await sampler;
  lags.sort((a, b) => a - b);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? Number.NaN;
  return { written: writer.written - startWritten, perS: (writer.written - startWritten) / elapsedS, p50: q(0.5), p99: q(0.99), max: lags.at(-1) ?? Number.NaN, backlogEnd };
}
