import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { http } from '../../test/support/http.js';
import { providerStats, setFaults } from '../../test/support/orders.js';
import type { Suite } from '../../test/support/suite.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { formatFailures } from '../support/load-result.js';
import { fmtRate, fmtRatio, printTable } from '../support/report.js';
import { spawnScript, type BenchProcess } from '../support/spawn-script.js';

/**
 * bench/queue: deliveries/s end to end through the BullMQ `delivery` queue, beside a bare BullMQ
 * add + process loop on the same Redis, same run.
 *
 * Rampart phases: an async gift (inventory and per-user limit out of reach); N claims through the
 * gateway (`POST /api/gifts/{id}/claims`, fresh Idempotency-Key = orderId, 500 users rotating,
 * IN_FLIGHT at a time, each must answer 202 queued), timed from the first claim until the queue
 * has finished N jobs (completed + failed); then every order's status is read from Redis (must be
 * `delivered`) and the stub's `byOrder[id].deliveries` must be 1 for each. The gateway's per-user
 * claim rate limit is off (it would cap the intake, not the queue). Delivery instances: DELIVERIES
 * (env BENCH_DELIVERIES, default 1), each with the default QUEUE_CONCURRENCY 16.
 *
 * Bare phases: DELIVERIES plain `Worker` processes (bare-worker.ts, concurrency 16 each) on a queue
 * under `<bench prefix>:{bare}`; the bench `Queue.add`s N jobs (jobId = orderId, Rampart's job
 * options) IN_FLIGHT at a time, timed from the first add until N jobs finished. Two processors: a
 * no-op, and one `POST /deliveries` to the same provider stub (checked exactly once like Rampart's).
 *
 * Pre-filled phases (stub 0 and 20 ms, both sides): the queue is paused (`Queue.pause`) while every
 * order is claimed or added, then resumed, and timed from there until every job finished: the
 * workers' path alone (for Rampart: the job's take, hold and settle scripts and the provider call),
 * without the intake that bounds the end-to-end phases.
 *
 * Sizing: each phase first runs a warm-up batch and a calibration batch (not reported), then
 * N = the calibration rate x TARGET_S (env BENCH_TARGET_S, default 16), so each measured phase takes
 * about that long whatever the machine does at the moment.
 * Printed, not asserted.
 */
const DELIVERIES = Math.max(1, Number(process.env.BENCH_DELIVERIES ?? 1));
/** Worker concurrency per process, Rampart's QUEUE_CONCURRENCY default. */
const CONCURRENCY = 16;
/** Claims (or adds) in flight while enqueueing. */
const IN_FLIGHT = 32;
const TARGET_S = Number(process.env.BENCH_TARGET_S ?? 16);
/** Orders of the warm-up and calibration batches before each measured phase. */
const WARM_UP = { rampart: 1_000, bare: 1_000 };
const CALIBRATE = { rampart: 1_000, bare: 3_000 };
/** Rampart's queue keeps 100k completed jobs; stay well below so completed counts stay exact. */
const MAX_N = { rampart: 40_000, bare: 60_000 };
const MIN_N = 500;
/** Longest wait for the queue to drain once every order was enqueued. */
const SETTLE_TIMEOUT_MS = 30_000;
const USERS = 500;
const GIFT_ID = 'bench-queue-g1';
const INVENTORY = 100_000_000;
/** Rampart's job options (delivery.queue.ts), with a built-in backoff since the bare worker has no custom one. */
const BARE_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: false,
};

/** One kind of phase: how an order is put on the queue and how many jobs have finished so far. */
interface Driver {
  /** `true` when the order is on the queue; else a short outcome (`'409'`, `'ECONNRESET'`). */
  enqueue(orderId: string, i: number): Promise<true | string>;
  /** Jobs completed + failed in the queue (absolute; phases use the difference). */
  finished(): Promise<number>;
  /** Whether the stub must have delivered each order exactly once. */
  usesStub: boolean;
  /** Order statuses in Redis, counted (Rampart only). */
  statuses?(orderIds: string[]): Promise<Record<string, number>>;
  /** The queue, paused (BullMQ `Queue.pause`: workers take no job) and resumed by the pre-filled phases. */
  queue: Queue;
}

interface PhaseResult {
  phase: string;
  orders: number;
  accepted: number;
  enqueueS: number;
  seconds: number;
  perS: number;
  enqueueFailures: Record<string, number>;
  /** `once/duplicated/missing` at the stub, or undefined without a stub. */
  exactlyOnce?: { once: number; duplicated: number; missing: number; calls: number; effective: number; truncated: boolean };
  statuses?: Record<string, number>;
  stuck?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const outcomeOf = (err: unknown): string => String((err as { code?: unknown })?.code ?? (err as Error)?.name ?? 'error');

/** Runs `fn(0..count-1)` with at most `inFlight` pending. */
async function pool(count: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/**
 * Enqueues `orderIds` and waits until the queue finished as many jobs as were accepted. `prefilled`:
 * the queue is paused while every order is enqueued and timed only from its resumption, so the phase
 * measures the workers alone (the delivery path behind the queue), not the intake in front of it.
 */
async function runPhase(phase: string, driver: Driver, orderIds: string[], providerUrl: string, prefilled = false): Promise<PhaseResult> {
  if (driver.usesStub) await http('DELETE', `${providerUrl}/_stats`);
  const base = await driver.finished();
  const enqueueFailures: Record<string, number> = {};
  let accepted = 0;
  let enqueueS = NaN;
  let enqueued = false;
  let enqueuedAtMs = NaN;
  if (prefilled) await driver.queue.pause();
  let startedMs = performance.now();
  const enqueueing = pool(orderIds.length, IN_FLIGHT, async (i) => {
    const outcome = await driver.enqueue(orderIds[i], i).catch(outcomeOf);
    if (outcome === true) accepted++;
    else enqueueFailures[outcome] = (enqueueFailures[outcome] ?? 0) + 1;
  }).then(async () => {
    enqueueS = (performance.now() - startedMs) / 1000;
    if (prefilled) {
      await driver.queue.resume();
      startedMs = performance.now();
    }
    enqueuedAtMs = performance.now();
    enqueued = true;
  });
  let done = 0;
  let stuck: string | undefined;
  for (;;) {
    await sleep(50);
    done = (await driver.finished()) - base;
    if (enqueued && done >= accepted) break;
    if (enqueued && performance.now() - enqueuedAtMs > SETTLE_TIMEOUT_MS) {
      stuck = `${accepted - done} of ${accepted} jobs unfinished ${SETTLE_TIMEOUT_MS / 1000} s after the last enqueue`;
      break;
    }
  }
  const seconds = (performance.now() - startedMs) / 1000;
  await enqueueing;
  const result: PhaseResult = { phase, orders: orderIds.length, accepted, enqueueS, seconds, perS: Math.min(done, accepted) / seconds, enqueueFailures, stuck };
  if (driver.statuses) result.statuses = await driver.statuses(orderIds);
  if (driver.usesStub) {
    const stats = await providerStats(providerUrl);
    const check = { once: 0, duplicated: 0, missing: 0, calls: stats.calls, effective: stats.effectiveDeliveries, truncated: Boolean((stats as { byOrderTruncated?: boolean }).byOrderTruncated) };
    for (const id of orderIds) {
      const deliveries = stats.byOrder[id]?.deliveries ?? 0;
      if (deliveries === 1) check.once++;
      else if (deliveries > 1) check.duplicated++;
      else check.missing++;
    }
    result.exactlyOnce = check;
  }
  return result;
}

/** Calibrates on a small batch, then runs the measured phase sized for about TARGET_S seconds. */
async function calibratedPhase(
  ctx: { step(m: string): void },
  phase: string,
  tag: string,
  driver: Driver,
  providerUrl: string,
  sizes: { warmUp: number; calibrate: number; max: number },
  prefilled = false,
): Promise<PhaseResult> {
  const ids = (kind: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${tag}-${kind}${i}`);
  // A fresh worker process (or a cold app) is several times slower on its first jobs: warm up first.
  await runPhase(phase, driver, ids('w', sizes.warmUp), providerUrl, prefilled);
  const calibration = await runPhase(phase, driver, ids('c', sizes.calibrate), providerUrl, prefilled);
  const n = Math.max(MIN_N, Math.min(sizes.max, Math.round(calibration.perS * TARGET_S)));
  ctx.step(`${phase}: calibration ${fmtRate(calibration.perS)}/s${calibration.stuck ? ` (${calibration.stuck})` : ''}; measuring ${n.toLocaleString('en-US')} orders`);
  const result = await runPhase(phase, driver, ids('m', n), providerUrl, prefilled);
  ctx.step(`${phase}: ${fmtRate(result.perS)} deliveries/s (${result.seconds.toFixed(1)} s)${result.stuck ? `; STUCK: ${result.stuck}` : ''}`);
  return result;
}

function rampartDriver(suite: Suite, redis: Redis, queue: Queue, caller: HttpCaller, authorizations: string[]): Driver {
  const keys = new RedisKeys(suite.prefix);
  const path = `/api/gifts/${GIFT_ID}/claims`;
  return {
    queue,
    usesStub: true,
    // A 5xx or a lost answer is retried with the same key (idempotent), as a client would.
    enqueue: async (orderId, i) => {
      let outcome = '';
      for (let attempt = 0; attempt < 4; attempt++) {
        const status = await caller
          .status({
            method: 'POST',
            path,
            headers: { authorization: authorizations[i % authorizations.length], 'idempotency-key': orderId, 'content-type': 'application/json' },
            body: '{}',
          })
          .catch(outcomeOf);
        if (status === 202) return true;
        outcome = String(status);
        if (typeof status === 'number' && status < 500) break;
        await sleep(50);
      }
      return outcome;
    },
    finished: async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0);
    },
    statuses: async (orderIds) => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < orderIds.length; i += 2_000) {
        const pipeline = redis.pipeline();
        for (const id of orderIds.slice(i, i + 2_000)) pipeline.hget(keys.orderState(GIFT_ID, id), 'status');
        for (const [err, status] of (await pipeline.exec()) ?? []) {
          const key = err ? 'error' : String(status ?? 'missing');
          counts[key] = (counts[key] ?? 0) + 1;
        }
      }
      return counts;
    },
  };
}

function bareDriver(queue: Queue, usesStub: boolean): Driver {
  return {
    queue,
    usesStub,
    enqueue: async (orderId) => {
      await queue.add('deliver', { orderId, requestId: orderId }, { jobId: orderId });
      return true;
    },
    finished: async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0);
    },
  };
}

runBench('queue', { deadlineS: 300 }, async (ctx) => {
  ctx.step(`starting provider stub, query, ${DELIVERIES} delivery instance(s), gateway`);
  const suite = await ctx.startSuite({
    deliveries: DELIVERIES,
    providerEnv: { FAULT_LATENCY_MS: '0' },
    gatewayEnv: { CLAIM_RATE_LIMIT_PER_S: '0' },
  });
  await publishActivity(suite, 'bench-queue', [{ giftId: GIFT_ID, delivery: 'async', inventory: INVENTORY, perUserLimit: INVENTORY }]);
  const authorizations = await userAuthHeaders(suite, 'bench-queue-user', USERS);
  const run = randomUUID().slice(0, 8);

  const redis = new Redis(suite.redisUrl, { maxRetriesPerRequest: null });
  ctx.defer(() => redis.quit());
  const rampartQueue = new Queue('delivery', { connection: redis, prefix: new RedisKeys(suite.prefix).queuePrefix() });
  ctx.defer(() => rampartQueue.close());
  const caller = new HttpCaller(suite.gatewayUrls[0], IN_FLIGHT);
  ctx.defer(() => caller.close());
  const rampart = rampartDriver(suite, redis, rampartQueue, caller, authorizations);

  const barePrefix = `${suite.prefix}:{bare}`; // deleted with the bench prefix
  const barePhase = async (phase: string, tag: string, stubUrl: string, prefilled = false): Promise<PhaseResult> => {
    const queueName = `bare-${tag}`;
    const queue = new Queue(queueName, { connection: redis, prefix: barePrefix, defaultJobOptions: BARE_JOB_OPTIONS });
    const workers: BenchProcess[] = [];
    try {
      for (let i = 0; i < DELIVERIES; i++) {
        workers.push(
          await spawnScript(
            join(__dirname, 'bare-worker.ts'),
            { REDIS_URL: suite.redisUrl, BARE_PREFIX: barePrefix, BARE_QUEUE: queueName, CONCURRENCY: String(CONCURRENCY), STUB_URL: stubUrl },
            { name: `bare worker ${i + 1}` },
          ),
        );
      }
      return await calibratedPhase(ctx, phase, `${run}-${tag}`, bareDriver(queue, Boolean(stubUrl)), suite.providerUrl, { warmUp: WARM_UP.bare, calibrate: CALIBRATE.bare, max: MAX_N.bare }, prefilled);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await queue.close();
    }
  };
  const rampartPhase = (phase: string, tag: string, prefilled = false): Promise<PhaseResult> =>
    calibratedPhase(ctx, phase, `${run}-${tag}`, rampart, suite.providerUrl, { warmUp: WARM_UP.rampart, calibrate: CALIBRATE.rampart, max: MAX_N.rampart }, prefilled);

  const results: Record<string, PhaseResult> = {};
  await setFaults(suite.providerUrl, { latencyMs: 0 });
  ctx.step('stub at 0 ms');
  results.r0 = await rampartPhase('Rampart (gateway claim -> queue -> stub), stub 0 ms', 'r0');
  results.b0 = await barePhase('bare BullMQ, POST to stub, stub 0 ms', 'b0', suite.providerUrl);
  results.noop = await barePhase('bare BullMQ, no-op processor', 'noop', '');
  results.r0p = await rampartPhase('Rampart, queue pre-filled (workers alone), stub 0 ms', 'r0p', true);
  results.b0p = await barePhase('bare BullMQ, POST to stub, queue pre-filled, stub 0 ms', 'b0p', suite.providerUrl, true);
  await setFaults(suite.providerUrl, { latencyMs: 20 });
  ctx.step('stub at 20 ms');
  results.r20 = await rampartPhase('Rampart (gateway claim -> queue -> stub), stub 20 ms', 'r20');
  results.b20 = await barePhase('bare BullMQ, POST to stub, stub 20 ms', 'b20', suite.providerUrl);
  results.r20p = await rampartPhase('Rampart, queue pre-filled (workers alone), stub 20 ms', 'r20p', true);
  results.b20p = await barePhase('bare BullMQ, POST to stub, queue pre-filled, stub 20 ms', 'b20p', suite.providerUrl, true);
  await setFaults(suite.providerUrl, {});

  const rows = Object.values(results).map((r) => {
    const once = r.exactlyOnce ? `${r.exactlyOnce.once}/${r.exactlyOnce.duplicated}/${r.exactlyOnce.missing}` : 'n/a';
    const notDelivered = r.statuses ? formatFailures(Object.fromEntries(Object.entries(r.statuses).filter(([s]) => s !== 'delivered'))) : 'n/a';
    return [
      r.phase,
      r.orders.toLocaleString('en-US'),
      r.enqueueS.toFixed(1),
      r.seconds.toFixed(1),
      fmtRate(r.perS),
      once,
      r.exactlyOnce ? `${r.exactlyOnce.calls}/${r.exactlyOnce.effective}` : 'n/a',
      notDelivered,
      formatFailures(r.enqueueFailures),
    ];
  });
  printTable(
    `Deliveries end to end through BullMQ: ${DELIVERIES} process(es) x concurrency ${CONCURRENCY} on each side, ${IN_FLIGHT} claims/adds in flight`,
    ['phase', 'orders', 'enqueued s', 'seconds', 'deliveries/s', 'once/dup/missing', 'stub calls/effective', 'not delivered', 'enqueue failures'],
    rows,
  );
  const ratio = (a: PhaseResult, b: PhaseResult): string => `${fmtRatio(a.perS / b.perS)}  (${fmtRate(a.perS)} / ${fmtRate(b.perS)})`;
  printTable('Ratios (Rampart / bare)', ['stub latency', 'Rampart / bare with stub POST', 'Rampart / bare no-op'], [
    ['0 ms', ratio(results.r0, results.b0), ratio(results.r0, results.noop)],
    ['0 ms, queue pre-filled (workers alone)', ratio(results.r0p, results.b0p), 'n/a'],
    ['20 ms', ratio(results.r20, results.b20), ratio(results.r20, results.noop)],
    ['20 ms, queue pre-filled (workers alone)', ratio(results.r20p, results.b20p), 'n/a'],
  ]);
  console.log('');
  for (const r of Object.values(results)) {
    if (r.stuck) console.log(`STUCK: ${r.phase}: ${r.stuck}`);
    if (r.exactlyOnce && (r.exactlyOnce.duplicated || r.exactlyOnce.missing)) console.log(`NOT EXACTLY ONCE: ${r.phase}: ${r.exactlyOnce.duplicated} duplicated, ${r.exactlyOnce.missing} missing at the stub`);
    if (r.exactlyOnce?.truncated) console.log(`note: ${r.phase}: the stub's byOrder was truncated; missing counts are not reliable`);
  }
  const exact = Object.values(results).every((r) => !r.stuck && (!r.exactlyOnce || (r.exactlyOnce.duplicated === 0 && r.exactlyOnce.missing === 0)));
  const allDelivered = [results.r0, results.r0p, results.r20, results.r20p].every((r) => (r.statuses?.delivered ?? 0) === r.orders);
  console.log(`every order delivered exactly once at the stub: ${exact ? 'yes' : 'NO'}; every Rampart order 'delivered' in Redis: ${allDelivered ? 'yes' : 'NO'}`);
  const queues = await http('GET', `${suite.gatewayUrls[0]}/admin/queues`, { token: suite.adminToken }).catch(() => undefined);
  if (queues) console.log(`GET /admin/queues at the end: ${queues.status} ${queues.text}`);
  console.log('"seconds" runs from the first claim/add until the queue finished every accepted job; "enqueued s" is when the last claim/add was answered.');
  console.log('"queue pre-filled": the queue is paused while every claim/add is made, and "seconds" runs from its resumption: the workers alone.');
  console.log('Load generator, apps, bare workers, provider stub and Redis share the same cores; compare figures of one run only.');
});
