import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { http } from '../../test/support/http.js';
import { startRedisServer } from '../../test/support/redis.js';
import { demoActivity, startSuite, type Suite } from '../../test/support/suite.js';
import { profiling, runBench, type BenchContext } from '../support/bench-run.js';
import { userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { formatFailures, type LoadResult } from '../support/load-result.js';
import { runClosedLoop, runPacedLoop, type LoadCall } from '../support/loop-load.js';
import { cpuByKind, pidsNamed } from '../support/process-cpu.js';
import { fmtMs, fmtRate, fmtRatio, printTable, verdict } from '../support/report.js';
import { histogramQuantile, total } from './prom-text.js';

/**
 * bench/memory: what claims leave in Redis, and whether retention gives it back (issue 14).
 *
 * Each run has a redis-server of its own (so used_memory and DBSIZE are this run's alone), 1 gateway,
 * 1 query, 1 delivery and the provider stub at 0 ms:
 *  1. calibration: CAL_S s of delivered claims, then CAL_S s of refused ones (a sold-out gift), closed
 *     loops of 32: bytes and keys per delivered / refused claim in Redis, and delivered claims/s;
 *  2. steady load: short activities (ACTIVITY_S s) one after another for STEADY_S s (all published before
 *     the first claim, so the starting point holds their configurations), RATE claims/s
 *     paced, REFUSED_SHARE of them on a sold-out gift; used_memory, DBSIZE, claims and the archive lag
 *     sampled every SAMPLE_S s;
 *  3. drain: no load for the last activity's retention and a margin; then the end against the start.
 * Run "archive on": DATABASE_URL (a schema of its own, dropped after), RETENTION_SECONDS and
 * REFUSAL_RETENTION_SECONDS = RETENTION_S. Run "archive off": no DATABASE_URL (no archiver, no
 * retention), refusals kept the default 86400 s. When the build has no archive (delivery exports no
 * rampart_archive_* metric) or no PostgreSQL answers, only the second is run and the report says what
 * could not be measured. Printed, never asserted.
 */
const env = process.env;
const num = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${env[name]}")`);
  return value;
};
const CAL_S = num('MEMORY_CALIBRATE_S', 8);
const STEADY_S = num('MEMORY_STEADY_S', 150);
const ACTIVITY_S = num('MEMORY_ACTIVITY_S', 20);
const RETENTION_S = num('MEMORY_RETENTION_SECONDS', 30);
const RATE = num('MEMORY_RATE', 100);
const SAMPLE_S = num('MEMORY_SAMPLE_S', 5);
const REFUSED_SHARE = 0.3;
const RETENTION_INTERVAL_MS = 2_000;
const DRAIN_S = RETENTION_S + 3 * (RETENTION_INTERVAL_MS / 1000) + 10;
const USERS = 2_000;
const CONCURRENCY = 32;
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ONLY = env.MEMORY_RUNS; // "on", "off", "throughput" (the on/off claims/s comparison alone) or all (unset)
const THROUGHPUT_S = num('MEMORY_THROUGHPUT_S', 5);
const THROUGHPUT_ROUNDS = num('MEMORY_THROUGHPUT_ROUNDS', 5);
const THROUGHPUT_CONCURRENCY = num('MEMORY_THROUGHPUT_CONCURRENCY', 32);

const perRunS = 25 + (2 * CAL_S + 20) + Math.max(1, Math.round(STEADY_S / ACTIVITY_S)) * ACTIVITY_S + DRAIN_S + 15;
const throughputS = 40 + THROUGHPUT_ROUNDS * 4 * (THROUGHPUT_S + 2);

interface Sample {
  atS: number;
  phase: string;
  usedBytes: number;
  datasetBytes: number;
  cappedBytes: number;
  keys: number;
  claims: number;
  archiveLagS?: number;
}

interface RunResult {
  label: string;
  archive: boolean;
  baseline: { usedBytes: number; datasetBytes: number; cappedBytes: number; keys: number };
  delivered: { claims: number; perS: number; bytes: number; keys: number; result: LoadResult };
  refused: { claims: number; bytes: number; keys: number };
  steady: { sent: number; result: LoadResult; growthFirstHalfBps: number; growthSecondHalfBps: number; peakBytes: number };
  /** uncappedDatasetBytes: used_memory_dataset once the capped streams were deleted. */
  final: { usedBytes: number; datasetBytes: number; cappedBytes: number; keys: number; claims: number; uncappedDatasetBytes: number };
  samples: Sample[];
  /** The largest keys left at the end (MEMORY USAGE), to see what stays. */
  largest: Array<{ key: string; bytes: number }>;
  /** The keys' own sizes summed (MEMORY USAGE, exact), less the capped streams, at the start and the end. */
  keySum: { start: number; end: number };
  /** The retired-number filter (fixed size, built once at start-up): left out of keys, keySum and the dataset. */
  filter: { keys: number; startBytes: number; endBytes: number };
  /** Slow-log entries at the end, before it was reset for the measure. */
  slowlogAtEnd: number;
  /** MEMORY STATS fields that moved by 16 KiB or more from the start to the end (capped streams deleted). */
  statsChanged: string[];
  /** The keys whose size changed most from the start to the end (capped streams left out). */
  grown: Array<{ key: string; bytes: number }>;
  archiveDelayP50S?: number;
  archiveDelayP99S?: number;
  archiveLagMaxS?: number;
  archived?: number;
  retired?: number;
}

runBench('memory', { deadlineS: Math.ceil((perRunS * 2 + throughputS) * 1.5) + 60 }, async (ctx) => {
  const notes: string[] = [];
  const database = await databaseAnswers();
  if (!database.ok) notes.push(`no PostgreSQL at ${DATABASE_URL} (${database.reason}): no "archive on" run`);
  const results: RunResult[] = [];
  let throughput: Throughput | undefined;
  if (database.ok && (ONLY === undefined || ONLY === 'throughput')) {
    const schema = `bench_memory_${randomUUID().slice(0, 8)}`;
    ctx.defer(() => dropSchema(schema));
    throughput = await compareThroughput(ctx, { DATABASE_URL, DATABASE_SCHEMA: schema });
    if (!throughput) notes.push('this build has no archive: no claims/s comparison');
  }
  if (database.ok && (ONLY === undefined || ONLY === 'on')) {
    const schema = `bench_memory_${randomUUID().slice(0, 8)}`;
    ctx.defer(() => dropSchema(schema));
    const on = await runOnce(ctx, `archive on, retention ${RETENTION_S} s`, {
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      RETENTION_SECONDS: String(RETENTION_S),
      REFUSAL_RETENTION_SECONDS: String(RETENTION_S),
      RETENTION_INTERVAL_MS: String(RETENTION_INTERVAL_MS),
    }, true);
    if (on) results.push(on);
    else notes.push('this build has no archive (delivery exports no rampart_archive_lag_seconds after start-up with DATABASE_URL set): no "archive on" run');
  }
  if (ONLY === undefined || ONLY === 'off') results.push((await runOnce(ctx, 'archive off (no DATABASE_URL)', { DATABASE_URL: '' }, false))!);
  report(results, throughput, notes);
});

interface Throughput {
  /** Delivered claims/s of each round, in the order run (A B B A ...). */
  rounds: Array<{ archive: boolean; perS: number; p99Ms: number; failures: Record<string, number> }>;
  /** on / off of each block of four rounds, in order. */
  blockRatios: number[];
  onPerS: number;
  offPerS: number;
  /** CPU time per delivered claim (µs) of each kind of process, over the rounds of each side (the round and its archive catching up). */
  cpuPerClaimUs: { on: Record<string, number>; off: Record<string, number> };
  /** Redis's time per delivered claim by command (µs; a script's inner commands count under their own name too). */
  redisUsPerClaim: { on: Map<string, number>; off: Map<string, number> };
}

/** Redis's time so far per command (`INFO commandstats`, usec), by command name. */
async function commandTimes(redis: Redis): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):.*\busec=(\d+)/.exec(line);
    if (match) times.set(match[1]!, Number(match[2]));
  }
  return times;
}

/**
 * Claims/s with the archive on vs off, both deployments up at once (each with its own redis-server),
 * measured in alternating closed-loop rounds of 32 in flight (on, off, off, on, ...) so that a busy
 * moment of the machine falls on both sides alike; the other deployment idles meanwhile. The on side
 * archives as it goes (its archiver and PostgreSQL share the cores with the claim path, as in a
 * one-machine deployment); after each of its rounds the bench waits until its archive has caught up, so
 * no archive work spills into an off round. Undefined when the build has no archive.
 */
async function compareThroughput(ctx: BenchContext, onEnv: Record<string, string>): Promise<Throughput | undefined> {
  ctx.step(`claims/s, archive on vs off: starting both deployments`);
  const on = await startDeployment(ctx, onEnv);
  const off = await startDeployment(ctx, { DATABASE_URL: '' });
  if (!on.archive) {
    await Promise.all([on.stop(), off.stop()]);
    return undefined;
  }
  const window = { startsAtMs: Date.now() - 60_000, endsAtMs: Date.now() + 3_600_000 };
  const gift = [{ giftId: 'throughput-ok', inventory: 100_000_000, perUserLimit: 100_000_000 }];
  await Promise.all([on.publish('throughput', gift, window), off.publish('throughput', gift, window)]);
  const caughtUp = async () => {
    for (let i = 0; i < 100 && (total(await on.metrics(), 'rampart_archive_lag_seconds') ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 200));
  };
  // Warm-up: JIT, connections, Lua scripts, PostgreSQL's caches; on/off/off/on like the rounds (with 2 s
  // each, once, the first measured round, always an "on" one, came out 25-30% below the other "on" ones).
  for (const d of [on, off, off, on]) await runClosedLoop({ concurrency: THROUGHPUT_CONCURRENCY, durationS: 3, call: d.claim('throughput-ok') });
  await caughtUp();
  const rounds: Throughput['rounds'] = [];
  // CPU per process kind over each side's rounds: the deployment's apps and redis-server, PostgreSQL's
  // processes, and this process (the load generator).
  const cpu = { on: {} as Record<string, number>, off: {} as Record<string, number> };
  const delivered = { on: 0, off: 0 };
  // Redis's own time per command (INFO commandstats), summed over each side's rounds.
  const redisUs = { on: new Map<string, number>(), off: new Map<string, number>() };
  const sample = (d: Deployment) => {
    return cpuByKind([
      ['gateway', d.suite.gateways.map((a) => a.pid)], ['query', d.suite.queries.map((a) => a.pid)], ['delivery', d.suite.deliveries.map((a) => a.pid)],
      ['provider stub', [d.suite.provider.pid]], ['redis', [d.redisPid]], ['postgres', pidsNamed('postgres')],
    ]);
  };
  for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
    for (const d of i % 2 === 0 ? [on, off, off, on] : [off, on, on, off]) {
      ctx.step(`claims/s, archive on vs off: round ${rounds.length + 1} of ${THROUGHPUT_ROUNDS * 4} (${d === on ? 'on' : 'off'})`);
      const side = d === on ? 'on' : 'off';
      const before = sample(d);
      const commandsBefore = await commandTimes(d.admin);
      const result = await runClosedLoop({ concurrency: THROUGHPUT_CONCURRENCY, durationS: THROUGHPUT_S, call: d.claim('throughput-ok') });
      rounds.push({ archive: d === on, perS: result.okPerS, p99Ms: result.p99Ms, failures: result.failures });
      if (d === on) await caughtUp();
      const after = sample(d);
      for (const kind of Object.keys(after)) cpu[side][kind] = (cpu[side][kind] ?? 0) + after[kind] - before[kind];
      for (const [command, usec] of await commandTimes(d.admin)) redisUs[side].set(command, (redisUs[side].get(command) ?? 0) + usec - (commandsBefore.get(command) ?? 0));
      delivered[side] += result.ok;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const perClaim = (side: 'on' | 'off') => Object.fromEntries(Object.entries(cpu[side]).map(([kind, ms]) => [kind, (ms * 1000) / Math.max(1, delivered[side])]));
  await Promise.all([on.stop(), off.stop()]);
  const mean = (archive: boolean) => {
    const side = rounds.filter((r) => r.archive === archive);
    return side.reduce((sum, r) => sum + r.perS, 0) / side.length;
  };
  // Each block of four rounds (on/off/off/on or off/on/on/off) gives a ratio of its own: a machine that
  // slows down for a while moves a block's two sides together, and the median block ignores the block
  // that straddles such a change.
  const blockRatios = Array.from({ length: THROUGHPUT_ROUNDS }, (_, b) => {
    const block = rounds.slice(4 * b, 4 * b + 4);
    const sum = (archive: boolean) => block.filter((r) => r.archive === archive).reduce((total, r) => total + r.perS, 0);
    return sum(true) / Math.max(1e-9, sum(false));
  });
  const redisPerClaim = (side: 'on' | 'off') => new Map([...redisUs[side]].map(([command, usec]) => [command, usec / Math.max(1, delivered[side])]));
  return { rounds, onPerS: mean(true), offPerS: mean(false), blockRatios, cpuPerClaimUs: { on: perClaim('on'), off: perClaim('off') }, redisUsPerClaim: { on: redisPerClaim('on'), off: redisPerClaim('off') } };
}

/** One deployment of a run: its own redis-server, 1 gateway, 1 query, 1 delivery, the stub provider at 0 ms. */
interface Deployment {
  suite: Suite;
  admin: Redis;
  /** Its redis-server's process id. */
  redisPid: number;
  /** Whether delivery runs an archiver (it exports rampart_archive_lag_seconds). */
  archive: boolean;
  metrics(): Promise<string>;
  publish(name: string, gifts: Array<{ giftId: string; inventory: number; perUserLimit: number }>, window: { startsAtMs: number; endsAtMs: number }): Promise<void>;
  /** A call claiming `giftId` with a new idempotency key and the next user. */
  claim(giftId: string): LoadCall;
  /** Claims sent so far. */
  claims(): number;
  stop(): Promise<void>;
}

async function startDeployment(ctx: BenchContext, appEnv: Record<string, string>): Promise<Deployment> {
  const redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
  let suite: Suite | undefined;
  const admin = new Redis(redis.url);
  let caller: HttpCaller | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      admin.disconnect();
      await caller?.close();
      await Promise.all([...(suite ? [...suite.gateways, ...suite.queries, ...suite.deliveries, suite.provider] : [])].map((a) => a.stop()));
      await redis.stop();
    })());
  ctx.defer(stop);
  // DATABASE_URL "" is "not set" to the apps' env readers, and wins over a suite's default database.
  // Not ctx.startSuite: this suite has a redis-server of its own and stops with it.
  suite = await startSuite({
    redisUrl: redis.url,
    prefix: `bench-memory-${randomUUID().slice(0, 8)}`,
    env: appEnv,
    ...profiling({ env: appEnv }),
    providerEnv: { FAULT_LATENCY_MS: '0' },
    // No per-user rate limiter: its short-lived window keys are not what a claim leaves behind.
    gatewayEnv: { CLAIM_RATE_LIMIT_PER_S: '0' },
    // The retired-number filter at its production size (4 MiB), not the test suites' small one.
    deliveryEnv: { RETIRED_FILTER_SLOT_BYTES: '256' },
  });
  const gw = suite.gatewayUrls[0];
  const metricsUrl = `http://127.0.0.1:${/"httpPort":(\d+)/.exec(suite.deliveries[0].logs.find((l) => l.includes('"event":"app.ready"')) ?? '')?.[1]}/metrics`;
  const metrics = async () => (await fetch(metricsUrl)).text();
  // The archiver's lag gauge exists only where an archiver runs (DATABASE_URL set, a build with one).
  const archive = /^rampart_archive_lag_seconds/m.test(await metrics());
  const authorizations = await userAuthHeaders(suite, 'mem-user', USERS);
  const run = randomUUID().slice(0, 6);
  let seq = 0;
  caller = new HttpCaller(gw, 64);
  return {
    suite,
    admin,
    redisPid: redis.child.pid!,
    archive,
    metrics,
    stop,
    claims: () => seq,
    publish: async (name, gifts, window) => {
      const body = demoActivity(suite!.providerUrl, gifts);
      Object.assign(body, { startsAt: new Date(window.startsAtMs).toISOString(), endsAt: new Date(window.endsAtMs).toISOString() });
      const res = await http('PUT', `${gw}/admin/activities/${name}`, { token: suite!.adminToken, body });
      if (res.status !== 200 && res.status !== 201) throw new Error(`publishing activity ${name}: ${res.status} ${res.text}`);
    },
    claim: (giftId) => async () => {
      const id = ++seq;
      const status = await caller!.status({
        method: 'POST',
        path: `/api/gifts/${giftId}/claims`,
        headers: { authorization: authorizations[id % USERS], 'idempotency-key': `m-${run}-${id}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return status === 200 || String(status);
    },
  };
}

/** One run; undefined when `expectArchive` and the apps turn out to have none (stopped at once). */
async function runOnce(ctx: BenchContext, label: string, appEnv: Record<string, string>, expectArchive: boolean): Promise<RunResult | undefined> {
  ctx.step(`${label}: starting a redis-server of its own and the apps`);
  const deployment = await startDeployment(ctx, appEnv);
  const { admin, metrics, stop } = deployment;
  const archive = expectArchive && deployment.archive;
  if (expectArchive && !archive) {
    await stop();
    return undefined;
  }
  const suite = deployment.suite;
  const run = randomUUID().slice(0, 6);
  const claims = () => deployment.claims();
  // used_memory counts everything the allocator holds (Lua scripts loaded by the first claims, client
  // buffers...); used_memory_dataset is the data alone (used_memory minus Redis' own overhead).
  const memory = async () => {
    const info = await admin.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
    // The claim report stream and the audit stream are capped by length (MAXLEN), not retired: counted
    // apart, exactly (SAMPLES 0: the default estimate from 5 nodes of a stream is off by tens of percent).
    const capped = (await Promise.all(['reports', 'audit'].map(async (k) => Number(await admin.memory('USAGE', `${suite.prefix}:${k}`, 'SAMPLES', 0)) || 0))).reduce((a, b) => a + b, 0);
    return { usedBytes: field('used_memory'), datasetBytes: field('used_memory_dataset'), cappedBytes: capped, keys: await admin.dbsize() };
  };
  const publish = (n: number, startsAtMs: number, endsAtMs: number) =>
    deployment.publish(`mem-${run}-${n}`, [
      { giftId: `m${run}-${n}-ok`, inventory: 100_000_000, perUserLimit: 100_000_000 },
      { giftId: `m${run}-${n}-out`, inventory: 1, perUserLimit: 1 },
    ], { startsAtMs, endsAtMs });
  const claim = deployment.claim;

  const startedMs = Date.now();
  const series: Sample[] = [];
  let phase = 'start';
  const sample = async () => {
    const m = await memory();
    const text = archive ? await metrics().catch(() => '') : '';
    series.push({ atS: (Date.now() - startedMs) / 1000, phase, ...m, claims: claims(), ...(archive ? { archiveLagS: total(text, 'rampart_archive_lag_seconds') } : {}) });
  };
  const sampler = setInterval(() => void sample().catch(() => undefined), SAMPLE_S * 1000);
  ctx.defer(() => clearInterval(sampler));

  // Every activity is published up front, each with its own window (the calibration's, then the steady
  // load's one after another), so the starting point holds all their configurations: what stays in Redis
  // after retention is then only what retention does not remove.
  const calibrationEndsMs = Date.now() + (2 * CAL_S + 20) * 1000;
  const activities = Math.max(1, Math.round(STEADY_S / ACTIVITY_S));
  const windowOf = (n: number) => ({ startsAtMs: calibrationEndsMs + (n - 1) * ACTIVITY_S * 1000, endsAtMs: calibrationEndsMs + n * ACTIVITY_S * 1000 });
  await publish(0, Date.now() - 60_000, calibrationEndsMs);
  for (let n = 1; n <= activities; n++) await publish(n, windowOf(n).startsAtMs, windowOf(n).endsAtMs);
  await new Promise((r) => setTimeout(r, 2_000));
  if (archive) {
    for (let i = 0; !(await admin.exists(`${suite.prefix}:retired-numbers:ready`)); i++) {
      if (i > 100) throw new Error('the retired-number filter was not built within 20 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // The start and the end are measured with Redis' script cache emptied (SCRIPT FLUSH; the apps load a
  // script again on its next use) and its slow log reset: the scripts the first claims load (some 0.2 MB)
  // and the slow log (at most slowlog-max-len entries, each a copy of up to 32 arguments) are fixed costs
  // that used_memory_dataset counts, not something claims leave.
  const baseline = await withoutScripts(admin, memory);
  const statsAtStart = await memoryStats(admin);
  const keysAtStart = await keySizes(admin);
  await sample();

  // 1. Calibration: delivered, then refused (the sold-out gift's one unit goes first).
  ctx.step(`${label}: calibration, ${CAL_S} s delivered and ${CAL_S} s refused claims`);
  phase = 'calibration';
  const beforeDelivered = await memory();
  const delivered = await runClosedLoop({ concurrency: CONCURRENCY, durationS: CAL_S, call: claim(`m${run}-0-ok`) });
  const afterDelivered = await memory();
  await claim(`m${run}-0-out`)();
  const beforeRefused = await memory();
  const refused = await runClosedLoop({ concurrency: CONCURRENCY, durationS: CAL_S, call: claim(`m${run}-0-out`) });
  const afterRefused = await memory();
  const refusedCount = refused.failures['409'] ?? 0;

  // 2. Steady load over short activities.
  ctx.step(`${label}: steady load, ${RATE} claims/s (${REFUSED_SHARE * 100}% sold out) over ${activities} activities of ${ACTIVITY_S} s`);
  await new Promise((r) => setTimeout(r, Math.max(0, windowOf(1).startsAtMs - Date.now())));
  phase = 'steady';
  const steadyStart = await memory();
  const steadyStartedMs = Date.now();
  const steadyResults: LoadResult[] = [];
  let steadySent = 0;
  for (let n = 1; n <= activities; n++) {
    // Inside the activity's window with a margin at both ends (claims outside it are NOT_ACTIVE).
    await new Promise((r) => setTimeout(r, Math.max(0, windowOf(n).startsAtMs + 300 - Date.now())));
    const windowS = (windowOf(n).endsAtMs - 500 - Date.now()) / 1000;
    if (windowS <= 1) throw new Error(`activity ${n}: its window passed before the load reached it (machine too busy?)`);
    await claim(`m${run}-${n}-out`)(); // its one unit: every later claim of it is refused
    let i = 0;
    const ok = claim(`m${run}-${n}-ok`);
    const out = claim(`m${run}-${n}-out`);
    steadyResults.push(await runPacedLoop({ ratePerS: RATE, durationS: windowS, maxInFlight: 256, call: () => (++i % 10 < REFUSED_SHARE * 10 ? out() : ok()) }));
    steadySent += Math.round(RATE * windowS);
  }
  const steadyEnd = await memory();
  // Growth in the first and the second half of the steady load: with retention it flattens, without it
  // stays linear. The middle is the sample closest to half-way.
  const halfS = (Date.now() - steadyStartedMs) / 2000;
  const midAtS = (steadyStartedMs - startedMs) / 1000 + halfS;
  const mid = series
    .filter((s) => s.phase === 'steady')
    .sort((a, b) => Math.abs(a.atS - midAtS) - Math.abs(b.atS - midAtS))[0];
  const midBytes = mid?.usedBytes ?? steadyStart.usedBytes;

  // 3. Drain: the last activity ends, its retention passes.
  ctx.step(`${label}: no load for ${DRAIN_S} s (retention of the last activity)`);
  phase = 'drain';
  await new Promise((r) => setTimeout(r, DRAIN_S * 1000));
  await sample();
  clearInterval(sampler);
  const slowlogAtEnd = Number(await admin.call('SLOWLOG', 'LEN'));
  const final = await withoutScripts(admin, memory);
  const largest = await largestKeys(admin, 5);
  const keysAtEnd = await keySizes(admin);
  const cappedKeys = new Set(['reports', 'audit'].map((k) => `${suite.prefix}:${k}`));
  const uncappedSum = (sizes: Map<string, number>) => [...sizes].reduce((sum, [key, bytes]) => sum + (cappedKeys.has(key) || isFilterKey(key) ? 0 : bytes), 0);
  const filterOf = (sizes: Map<string, number>) => [...sizes].filter(([key]) => isFilterKey(key));
  const filter = {
    keys: filterOf(keysAtStart).length,
    startBytes: filterOf(keysAtStart).reduce((sum, [, bytes]) => sum + bytes, 0),
    endBytes: filterOf(keysAtEnd).reduce((sum, [, bytes]) => sum + bytes, 0),
  };
  // The filter is a fixed part (its size is set, not grown by claims): out of every "back to the start" figure.
  baseline.keys -= filter.keys;
  baseline.datasetBytes -= filter.startBytes;
  final.keys -= filterOf(keysAtEnd).length;
  const grown = [...new Set([...keysAtStart.keys(), ...keysAtEnd.keys()])]
    .filter((key) => !cappedKeys.has(key))
    .map((key) => ({ key, bytes: (keysAtEnd.get(key) ?? 0) - (keysAtStart.get(key) ?? 0) }))
    .filter((k) => k.bytes !== 0)
    .sort((a, b) => Math.abs(b.bytes) - Math.abs(a.bytes))
    .slice(0, 5);
  // MEMORY USAGE of a stream is an estimate (its radix tree is not walked): the capped streams are
  // deleted at the very end and the dataset measured again, which counts them exactly.
  await admin.del(...cappedKeys);
  const finalUncappedDatasetBytes = (await withoutScripts(admin, memory)).datasetBytes - filter.endBytes;
  const statsAtEnd = await memoryStats(admin);
  const statsChanged = Object.keys(statsAtEnd)
    .filter((k) => Math.abs(statsAtEnd[k] - (statsAtStart[k] ?? 0)) >= 16 * 1024 && !/peak|fragmentation|rss|allocator|total\.allocated/.test(k))
    .map((k) => `${k} ${mb(statsAtStart[k] ?? 0)} -> ${mb(statsAtEnd[k])} MB`);
  const text = await metrics();
  const result: RunResult = {
    label,
    archive,
    baseline,
    delivered: {
      claims: delivered.ok,
      perS: delivered.okPerS,
      bytes: (afterDelivered.usedBytes - beforeDelivered.usedBytes) / Math.max(1, delivered.ok),
      keys: (afterDelivered.keys - beforeDelivered.keys) / Math.max(1, delivered.ok),
      result: delivered,
    },
    refused: {
      claims: refusedCount,
      bytes: (afterRefused.usedBytes - beforeRefused.usedBytes) / Math.max(1, refusedCount),
      keys: (afterRefused.keys - beforeRefused.keys) / Math.max(1, refusedCount),
    },
    steady: {
      sent: steadySent,
      result: mergeResults(steadyResults),
      growthFirstHalfBps: (midBytes - steadyStart.usedBytes) / halfS,
      growthSecondHalfBps: (steadyEnd.usedBytes - midBytes) / halfS,
      peakBytes: Math.max(...series.map((s) => s.usedBytes)),
    },
    final: { ...final, claims: claims(), uncappedDatasetBytes: finalUncappedDatasetBytes },
    largest,
    keySum: { start: uncappedSum(keysAtStart), end: uncappedSum(keysAtEnd) },
    filter,
    slowlogAtEnd,
    statsChanged,
    grown,
    samples: series,
    ...(archive
      ? {
          archiveDelayP50S: histogramQuantile(text, 'rampart_archive_delay_seconds', 0.5),
          archiveDelayP99S: histogramQuantile(text, 'rampart_archive_delay_seconds', 0.99),
          archiveLagMaxS: Math.max(0, ...series.map((s) => s.archiveLagS ?? 0)),
          archived: total(text, 'rampart_archived_orders_total'),
          retired: total(text, 'rampart_retention_orders_retired_total'),
        }
      : {}),
  };
  printSeries(result);
  await stop();
  return result;
}

function mergeResults(results: LoadResult[]): LoadResult {
  const failures: Record<string, number> = {};
  for (const r of results) for (const [k, n] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + n;
  const ok = results.reduce((s, r) => s + r.ok, 0);
  const elapsedS = results.reduce((s, r) => s + r.elapsedS, 0);
  return { ok, failures, elapsedS, okPerS: ok / Math.max(elapsedS, 1e-9), p50Ms: Math.max(...results.map((r) => r.p50Ms)), p99Ms: Math.max(...results.map((r) => r.p99Ms)) };
}

const mb = (bytes: number) => (bytes / 1_048_576).toFixed(2);
const pct = (now: number, start: number) => `${now >= start ? '+' : ''}${(((now - start) / start) * 100).toFixed(0)}%`;
const secs = (s: number | undefined) => (s === undefined ? '-' : s.toFixed(2));

function printSeries(r: RunResult): void {
  printTable(
    `${r.label}: Redis over time (every ${SAMPLE_S} s; start ${mb(r.baseline.usedBytes)} MB, ${r.baseline.keys} keys)`,
    ['t s', 'phase', 'used MB', 'vs start', 'dataset MB', 'keys', 'claims sent', ...(r.archive ? ['archive lag s'] : [])],
    r.samples.map((s) => [
      s.atS.toFixed(0),
      s.phase,
      mb(s.usedBytes),
      pct(s.usedBytes, r.baseline.usedBytes),
      mb(s.datasetBytes),
      String(s.keys),
      String(s.claims),
      ...(r.archive ? [secs(s.archiveLagS)] : []),
    ]),
  );
}

function report(results: RunResult[], throughput: Throughput | undefined, notes: string[]): void {
  const rows = results.map((r) => [
    r.label,
    `${r.delivered.bytes.toFixed(0)} B, ${r.delivered.keys.toFixed(2)} keys`,
    `${r.refused.bytes.toFixed(0)} B, ${r.refused.keys.toFixed(2)} keys`,
    fmtRate(r.delivered.perS),
    `${fmtMs(r.steady.result.p50Ms)} / ${fmtMs(r.steady.result.p99Ms)}`,
    `${fmtRate(r.steady.growthFirstHalfBps)} / ${fmtRate(r.steady.growthSecondHalfBps)}`,
    `${mb(r.steady.peakBytes)} MB`,
    `${mb(r.final.usedBytes)} MB (${pct(r.final.usedBytes, r.baseline.usedBytes)}), ${r.final.keys} keys (${r.final.keys - r.baseline.keys >= 0 ? '+' : ''}${r.final.keys - r.baseline.keys})`,
    `${((r.final.usedBytes - r.baseline.usedBytes) / Math.max(1, r.final.claims)).toFixed(0)} B`,
  ]);
  if (rows.length) printTable(
    'Claims in Redis',
    ['run', 'per delivered claim', 'per refused claim', 'delivered claims/s (32 in flight)', `steady p50 / p99 ms (${RATE}/s; worst activity)`, 'steady growth B/s, 1st / 2nd half', 'peak', 'end (vs start)', 'left per claim at the end'],
    rows,
  );
  for (const r of results) {
    console.log(`${r.label}: largest keys at the end: ${r.largest.map((k) => `${k.key} ${(k.bytes / 1024).toFixed(0)} KiB`).join(', ')}`);
    console.log(`${r.label}: steady load ${r.steady.sent} claims sent, ${r.steady.result.ok} delivered, not delivered ${formatFailures(r.steady.result.failures)}; calibration delivered ${r.delivered.claims}, refused ${r.refused.claims}`);
  }
  const on = results.find((r) => r.archive);
  const off = results.find((r) => !r.archive);
  console.log('');
  if (on) {
    // "Back to the start": at most 10% above it (below it is back too: e.g. retired gifts' empty streams go).
    const above = (end: number, start: number) => (end - start) / Math.max(1, start);
    const signed = (r: number) => `${r >= 0 ? '+' : ''}${(r * 100).toFixed(0)}%`;
    const backUsed = above(on.final.usedBytes, on.baseline.usedBytes);
    const uncapped = (m: { datasetBytes: number; cappedBytes: number }) => m.datasetBytes - m.cappedBytes;
    const backDataset = above(on.final.uncappedDatasetBytes, uncapped(on.baseline));
    // Keys against the start of the steady load's first activity would be fairer (the start has a handful):
    // a few keys per activity (its configuration) and per user stay by design.
    const backKeys = above(on.final.keys, on.baseline.keys);
    console.log(`archive: ${on.archived ?? '-'} orders archived, ${on.retired ?? '-'} retired from Redis by retention; delay settle -> archived p50 ${secs(on.archiveDelayP50S)} s, p99 ${secs(on.archiveDelayP99S)} s (rampart_archive_delay_seconds); largest sampled lag ${secs(on.archiveLagMaxS)} s (rampart_archive_lag_seconds)`);
    const backKeySum = above(on.keySum.end, on.keySum.start);
    console.log(`the retired-number filter (built at start-up, fixed size; left out of the figures below): ${on.filter.keys} keys, ${mb(on.filter.startBytes)} MB at the start, ${mb(on.filter.endBytes)} MB at the end`);
    console.log(
      `back to the start after retention, the keys themselves: their sizes summed (MEMORY USAGE, exact) less the capped streams ${mb(on.keySum.start)} -> ${mb(on.keySum.end)} MB (${signed(backKeySum)}), keys ${on.baseline.keys} -> ${on.final.keys} (${signed(backKeys)}): goal <= 10% above ${verdict(backKeySum <= 0.1 && backKeys <= 0.1)}; ` +
        `changed most: ${on.grown.map((k) => `${k.key} ${k.bytes >= 0 ? '+' : ''}${k.bytes} B`).join(', ') || 'none'}`,
    );
    console.log(
      `back to the start after retention, Redis' own accounting: used_memory_dataset less the capped report and audit streams ${mb(uncapped(on.baseline))} -> ${mb(on.final.uncappedDatasetBytes)} MB (at the end: measured with them deleted) (${signed(backDataset)}; the streams ${mb(on.baseline.cappedBytes)} -> ${mb(on.final.cappedBytes)} MB), keys ${on.baseline.keys} -> ${on.final.keys} (${signed(backKeys)}): goal <= 10% above ${verdict(backDataset <= 0.1 && backKeys <= 0.1)}; ` +
        `used_memory ${mb(on.baseline.usedBytes)} -> ${mb(on.final.usedBytes)} MB (${signed(backUsed)}; Redis' own overhead: client buffers, hash tables sized for the peak); both with the script cache flushed and the slow log reset (${on.slowlogAtEnd} entries at the end)`,
    );
    console.log(`MEMORY STATS fields that moved by 16 KiB or more, start -> end: ${on.statsChanged.join(', ') || 'none'}`);
  } else if (ONLY !== 'throughput') {
    console.log('NOT MEASURED: bytes per claim after archiving, return to the start after retention, archive lag p50/p99.');
  }
  if (throughput) {
    const ratio = throughput.onPerS / throughput.offPerS;
    console.log(
      `claims/s with the archive on / off (both deployments up, ${throughput.rounds.length} alternating closed-loop rounds of ${THROUGHPUT_S} s, ${THROUGHPUT_CONCURRENCY} in flight): ` +
        `${fmtRate(throughput.onPerS)} / ${fmtRate(throughput.offPerS)} = ${fmtRatio(ratio)} (goal >= 95%: ${verdict(ratio >= 0.95)}); rounds: ` +
        throughput.rounds.map((r) => `${r.archive ? 'on' : 'off'} ${fmtRate(r.perS)} (p99 ${fmtMs(r.p99Ms)}${Object.keys(r.failures).length ? `; not 200: ${formatFailures(r.failures)}` : ''})`).join(', '),
    );
    const sorted = [...throughput.blockRatios].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    console.log(`the same per block of four rounds: ${throughput.blockRatios.map(fmtRatio).join(', ')}; median ${fmtRatio(median)} (goal >= 95%: ${verdict(median >= 0.95)})`);
    const kinds = Object.keys(throughput.cpuPerClaimUs.on);
    const us = (v: number | undefined) => (v ?? 0).toFixed(0);
    const sum = (side: Record<string, number>) => Object.values(side).reduce((a, b) => a + b, 0);
    console.log(
      `CPU per delivered claim, on / off (µs; each side's rounds with the archive catching up after them): ` +
        kinds.map((k) => `${k} ${us(throughput.cpuPerClaimUs.on[k])} / ${us(throughput.cpuPerClaimUs.off[k])}`).join(', ') +
        `; all ${us(sum(throughput.cpuPerClaimUs.on))} / ${us(sum(throughput.cpuPerClaimUs.off))}`,
    );
    const { on: redisOn, off: redisOff } = throughput.redisUsPerClaim;
    const commands = [...new Set([...redisOn.keys(), ...redisOff.keys()])]
      .map((command) => ({ command, on: redisOn.get(command) ?? 0, off: redisOff.get(command) ?? 0 }))
      .filter((c) => c.on >= 0.5 || c.off >= 0.5)
      .sort((a, b) => b.on - b.off - (a.on - a.off));
    console.log(
      `Redis's time per delivered claim by command, on / off (µs, INFO commandstats; a script's inner commands also count under their own names), largest difference first: ` +
        commands.map((c) => `${c.command} ${c.on.toFixed(1)} / ${c.off.toFixed(1)}`).join(', '),
    );
  } else {
    console.log('NOT MEASURED: claims/s archive on vs off.');
  }
  if (off) console.log(`without retention Redis only grows: ${mb(off.final.usedBytes - off.baseline.usedBytes)} MB and ${off.final.keys - off.baseline.keys} keys more after ${off.final.claims} claims, ${((off.final.usedBytes - off.baseline.usedBytes) / Math.max(1, off.final.claims)).toFixed(0)} B a claim`);
  for (const note of notes) console.log(`note: ${note}`);
  console.log('Load generator, apps, Redis and PostgreSQL share the same cores; compare figures of one run only.');
}

async function withoutScripts<T>(redis: Redis, measure: () => Promise<T>): Promise<T> {
  await redis.script('FLUSH');
  await redis.call('SLOWLOG', 'RESET');
  return measure();
}

/** MEMORY STATS as a flat map of its numeric fields (`db.0.overhead.hashtable.main` and the like). */
async function memoryStats(redis: Redis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const walk = (reply: unknown, prefix: string) => {
    if (!Array.isArray(reply)) return;
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const name = `${prefix}${String(reply[i])}`;
      const value = reply[i + 1];
      if (Array.isArray(value)) walk(value, `${name}.`);
      else if (Number.isFinite(Number(value))) out[name] = Number(value);
    }
  };
  walk(await redis.call('MEMORY', 'STATS'), '');
  return out;
}

/** A key of the retired-number filter (its shards and its ready marker). */
const isFilterKey = (key: string): boolean => key.includes(':{rn:') || key.endsWith(':retired-numbers:ready');

/** Every key with its MEMORY USAGE, exact (SAMPLES 0; a SCAN of the whole: small at the start and end of a run). */
async function keySizes(redis: Redis): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) sizes.set(key, Number(await redis.memory('USAGE', key, 'SAMPLES', 0)) || 0);
  } while (cursor !== '0' && sizes.size < 100_000);
  return sizes;
}

/** The `count` largest keys by MEMORY USAGE. */
async function largestKeys(redis: Redis, count: number): Promise<Array<{ key: string; bytes: number }>> {
  return [...(await keySizes(redis))].map(([key, bytes]) => ({ key, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, count);
}

async function databaseAnswers(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1, connectionTimeoutMillis: 2_000 });
  try {
    await pool.query('select 1');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1, connectionTimeoutMillis: 2_000 });
  try {
    await pool.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
