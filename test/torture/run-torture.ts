import { Redis } from 'ioredis';
import { giftBuckets, RedisKeys } from '@app/contracts';
import { Database, OrderArchive } from '@app/platform';
import { testDatabaseUrl } from '../support/database.js';
import { runClientLoop, runRevisits, type KeyMix } from './clients.js';
import { RETENTION_S, startDeployment, type Deployment } from './deployment.js';
import { runFaultLane, setStubFaults } from './faults.js';
import { GIFTS, giftById, publishActivities } from './gifts.js';
import { checkInvariants, type FinalData, type FinalOrder, type StubStats, type Violation } from './invariants.js';
import { mayHaveOrder, OPEN_STATUSES, readOrder, resolveUncertain, retryDeadLetter, runPoller, setFlag } from './operators.js';
import { Prng } from './prng.js';
import { formatReport } from './report.js';
import { RunState } from './run-state.js';
import { makeSchedule, type Schedule } from './schedule.js';

export interface TortureOptions {
  seed: number;
  /** Length of the schedule (claims, faults, operators), in minutes. */
  minutes: number;
  /** Longest wait for every order to settle after the schedule, in ms. Default 90 000. */
  quiesceMs?: number;
  /** Concurrent client loops. Default 4. */
  loops?: number;
  /** Users in the pool. Default 20 per minute of schedule (at least 20). */
  users?: number;
  /** Key shapes. Default uuid 2 : numeric 1 : 128-char 1. */
  keyMix?: KeyMix;
  /** Progress lines. Default console.log. */
  log?: (msg: string) => void;
}

export interface TortureReport {
  seed: number;
  ok: boolean;
  violations: Violation[];
  /** The printable report (counts, violations, traces of offending orders, schedule). */
  text: string;
  claims: number;
  faults: number;
  elapsedMs: number;
  /** Short-activity orders archived and removed from Redis by retention, and claims that came back to their keys. */
  retired: number;
  revisits: number;
}

/** The short activity ends at this share of the schedule; its keys are revisited from its retention on. */
const SHORT_ENDS_AT = 0.4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one seeded torture run against a fresh deployment of real processes; never throws on a violation. */
export async function runTorture(opts: TortureOptions): Promise<TortureReport> {
  const started = Date.now();
  const log = opts.log ?? ((m: string) => console.log(m));
  const root = new Prng(opts.seed);
  const totalMs = Math.round(opts.minutes * 60_000);
  const schedule = makeSchedule(root.fork('schedule'), totalMs);
  const users = Array.from({ length: opts.users ?? Math.max(20, Math.round(20 * opts.minutes)) }, (_, i) => `tu${i + 1}`);
  log(`torture seed ${opts.seed}: starting redis, PostgreSQL (a schema behind a proxy), 2 provider stubs, 2 query, 2 delivery, 2 gateways`);
  const d = await startDeployment({ prefix: `tt${opts.seed.toString(36)}`, log });
  try {
    const shortEndsAt = Math.round(totalMs * SHORT_ENDS_AT);
    await publishActivities(d, Date.now() + shortEndsAt);
    const state = new RunState(opts.seed, d.gatewayUrls, d.adminToken);
    for (const u of users) state.tokens.set(u, await d.token(u));
    log(`seed ${opts.seed}: schedule of ${opts.minutes} min: ${schedule.processFaults.length} process/redis faults, ${schedule.providerFaults.length} provider faults, ${schedule.databaseFaults.length} PostgreSQL cuts, ${schedule.flags.length} flag episodes, ${schedule.operators.length} operator actions; the short activity ends at ${(shortEndsAt / 1000).toFixed(0)} s`);

    let polling = true;
    const poller = runPoller(state, root.fork('poller'), () => !polling);
    const lateStop = () => state.trace.now() > totalMs - 3_000;
    const tasks = [
      ...Array.from({ length: opts.loops ?? 4 }, (_, i) =>
        runClientLoop(state, root.fork(`client-${i}`), {
          endAt: totalMs,
          maxClaims: Math.ceil(totalMs / 100),
          users,
          keyMix: opts.keyMix ?? { uuid: 2, numeric: 1, long: 1 },
          concurrentRepeatShare: 0.2,
          laterRepeatShare: 0.1,
          reuseShare: 0.05,
        }),
      ),
      runFaultLane(state, d, schedule.processFaults, lateStop),
      runFaultLane(state, d, schedule.providerFaults, lateStop),
      runFaultLane(state, d, schedule.databaseFaults, lateStop),
      runRevisits(state, root.fork('revisits'), { startAt: shortEndsAt + RETENTION_S * 1000 + 3_000, endAt: totalMs, users }),
      runFlags(state, root.fork('flags'), schedule),
      runOperators(state, root.fork('operators'), schedule, d),
      progress(state, totalMs, log),
    ];
    await Promise.all(tasks);
    log(`seed ${opts.seed}: schedule done; clearing faults and flags, waiting for quiescence`);
    await Promise.all([setStubFaults(d.providerOn, {}), setStubFaults(d.providerOff, {})]);
    await d.ensureAllRunning();
    polling = false;
    await poller;
    const flagPrng = root.fork('flags-off');
    for (const name of ['delivery.forceAsync', ...GIFTS.map((g) => `gift.${g.giftId}.paused`)]) await setFlag(state, flagPrng, name, false);
    const q = await quiesce(state, root.fork('quiesce'), opts.quiesceMs ?? 90_000);
    log(`seed ${opts.seed}: ${q.open ? `${q.open} orders still open` : 'quiescent'} after ${(q.ms / 1000).toFixed(1)} s; reading the final state`);
    const data = await finalData(state, d);
    const violations = checkInvariants(state, data);
    const evidence = (orderId: string) =>
      d.allApps.flatMap((a) => a.logs.filter((l) => l.includes(orderId)).slice(-4).map((l) => `[${a.name}] ${l.slice(0, 400)}`)).slice(0, 8);
    const elapsedMs = Date.now() - started;
    const text = formatReport({ seed: opts.seed, minutes: opts.minutes, state, schedule, data, violations, quiesceMs: q.ms, open: q.open, elapsedMs }, evidence);
    return { seed: opts.seed, ok: violations.length === 0, violations, text, claims: state.keys.size, faults: state.faults.length, elapsedMs, retired: data.archive.retired.length, revisits: state.revisits };
  } finally {
    await d.stop();
  }
}

async function runFlags(state: RunState, prng: Prng, schedule: Schedule): Promise<void> {
  for (const f of schedule.flags) {
    await sleep(Math.max(0, f.at - state.trace.now()));
    await setFlag(state, prng, f.name, true);
    await sleep(f.durationMs);
    await setFlag(state, prng, f.name, false);
  }
}

async function runOperators(state: RunState, prng: Prng, schedule: Schedule, d: Deployment): Promise<void> {
  for (const o of schedule.operators) {
    await sleep(Math.max(0, o.at - state.trace.now()));
    if (o.action === 'retry') await retryDeadLetter(state, prng, o.concurrent);
    else await resolveUncertain(state, prng, o.concurrent, { on: d.providerOn, off: d.providerOff });
  }
}

async function progress(state: RunState, totalMs: number, log: (m: string) => void): Promise<void> {
  while (state.trace.now() < totalMs) {
    await sleep(Math.min(15_000, Math.max(0, totalMs - state.trace.now())));
    const active = state.activeFaults().map((f) => `${f.kind} ${f.target}`).join(', ') || 'none';
    log(`  ${(state.trace.now() / 1000).toFixed(0)} s: ${state.keys.size} keys, ${state.exchanges.length} requests, faults now: ${active}`);
  }
}

/** Reads every order that may still move until none is open, bounded by `maxMs`. */
async function quiesce(state: RunState, prng: Prng, maxMs: number): Promise<{ ms: number; open: number }> {
  const start = Date.now();
  for (;;) {
    const pending = [...state.keys.values()].filter((k) => mayHaveOrder(k) && !state.unreadable.has(k.key) && !['delivered', 'failed', 'uncertain'].includes(state.lastStatus.get(k.key) ?? ''));
    let open = 0;
    for (let i = 0; i < pending.length; i += 6) {
      const answers = await Promise.all(pending.slice(i, i + 6).map((k) => readOrder(state, k, state.gateway(prng))));
      open += answers.filter((a) => a.status === 0 || a.status >= 500 || (a.status === 200 && OPEN_STATUSES.includes(a.body?.status))).length;
    }
    const ms = Date.now() - start;
    if (open === 0 || ms > maxMs) return { ms, open };
    await sleep(2_000);
  }
}

async function finalData(state: RunState, d: Deployment): Promise<FinalData> {
  const day = () => new Date().toISOString().slice(0, 10);
  const orders = new Map<string, FinalOrder>();
  const getUnreadable = new Map<string, number>();
  const keys = [...state.keys.values()];
  for (let i = 0; i < keys.length; i += 6) {
    await Promise.all(
      keys.slice(i, i + 6).map(async (k) => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const res = await readOrder(state, k, attempt % 2);
          if (res.status === 200) return void orders.set(k.key, { kind: 'order', view: res.body, via: 'get' });
          if (res.status === 404) return void orders.set(k.key, { kind: 'absent' });
          if (res.status !== 0 && res.status !== 503) {
            getUnreadable.set(k.key, res.status);
            break;
          }
          await sleep(300);
        }
        orders.set(k.key, { kind: 'unreadable', status: getUnreadable.get(k.key) ?? 0 });
      }),
    );
  }
  // Orders the single read cannot name (e.g. a key too long for the route): look in the owner's list.
  const owners = new Set(keys.filter((k) => orders.get(k.key)?.kind === 'unreadable').map((k) => k.userId));
  for (const userId of owners) {
    const res = await state.send(0, 'GET', '/api/me/orders?limit=200', { token: state.tokens.get(userId), timeoutMs: 5_000 });
    const listed: any[] = res.status === 200 ? res.body?.orders ?? [] : [];
    for (const k of keys.filter((k) => k.userId === userId && orders.get(k.key)?.kind === 'unreadable')) {
      const found = listed.find((o) => o.orderId === k.key);
      if (found) orders.set(k.key, { kind: 'order', view: found, via: 'list' });
      else if (res.status === 200 && listed.length < 200) orders.set(k.key, { kind: 'absent' });
    }
  }
  const stats = async (url: string) => (await (await fetch(`${url}/_stats`, { signal: AbortSignal.timeout(5_000) })).json()) as StubStats;
  const token = state.tokens.values().next().value!;
  const gifts = new Map<string, { remaining: number; dailyRemaining: number | null } | undefined>();
  for (const g of GIFTS) {
    const res = await state.send(0, 'GET', `/api/gifts/${g.giftId}`, { token, timeoutMs: 5_000 });
    gifts.set(g.giftId, res.status === 200 ? res.body : undefined);
  }
  const redis = new Redis(d.redisUrl, { maxRetriesPerRequest: 2 });
  const uncertainCounts = new Map<string, number>();
  let archive: FinalData['archive'];
  try {
    const pairs = new Set([...keys.map((k) => `${k.giftId}|${k.userId}`)]);
    for (const pair of pairs) {
      const [giftId, userId] = pair.split('|');
      // A split gift keeps a user's counts in the bucket their id hashes to.
      const stored = giftBuckets.forUser(giftId, giftById(giftId).buckets ?? 1, userId);
      uncertainCounts.set(pair, Number((await redis.hget(`${d.prefix}:{g:${stored}}:user:${userId}`, 'uncertain')) ?? 0));
    }
    archive = await archiveData(d, redis, [...orders].flatMap(([key, o]) => (o.kind === 'order' && giftById(o.view.giftId).short ? [key] : [])));
  } finally {
    redis.disconnect();
  }
  return { orders, getUnreadable, stats: { on: await stats(d.providerOn), off: await stats(d.providerOff) }, gifts, uncertainCounts, days: [state.startDay, day()], archive };
}

/**
 * The short activity's orders in PostgreSQL (read straight, not through the proxy), once the archive has
 * caught up (bounded wait: the settled ones must all be there), and which of them left Redis.
 */
async function archiveData(d: Deployment, redis: Redis, orderIds: string[]): Promise<FinalData['archive']> {
  const keys = new RedisKeys(d.prefix);
  const db = new Database({ url: testDatabaseUrl(), schema: d.databaseSchema, poolMax: 1, statementTimeoutMs: 10_000 });
  try {
    const archive = new OrderArchive(db);
    let held = new Map<string, { status: string; version: number }>();
    for (let waited = 0; waited <= 30_000; waited += 1_000) {
      const found = await archive.findMany(orderIds);
      held = new Map([...found].map(([id, o]) => [id, { status: o.status, version: o.version }]));
      const settledInRedis = await Promise.all(orderIds.map(async (id) => {
        const giftId = await redis.hget(keys.orderBinding(id), 'giftId');
        const status = giftId ? await redis.hget(keys.orderState(giftId, id), 'status') : null;
        return status === 'delivered' || status === 'failed' ? id : undefined;
      }));
      if (settledInRedis.every((id) => !id || held.has(id))) break;
      await sleep(1_000);
    }
    const retired: string[] = [];
    for (const id of orderIds) if (held.has(id) && (await redis.exists(keys.orderBinding(id))) === 0) retired.push(id);
    return { held, retired };
  } finally {
    await db.close();
  }
}
