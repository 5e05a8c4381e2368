import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { giftBuckets, RedisKeys } from '@app/contracts';
import { closeRedis, createRedis } from '@app/platform';
import { ActivityStore } from '../../apps/delivery/src/activities/activity.store.js';
import type { DeliveryConfig } from '../../apps/delivery/src/config/delivery.config.js';
import { BucketRebalancer } from '../../apps/delivery/src/inventory/bucket.rebalancer.js';
import { OrderStore } from '../../apps/delivery/src/lifecycle/order.store.js';
import { SoldOutLatchWriter } from '../../apps/delivery/src/lifecycle/sold-out-latch.writer.js';
import { startRedisCluster, type LocalRedisCluster } from '../../test/support/redis-cluster.js';
import { runBench } from '../support/bench-run.js';
import { fmtRate, fmtRatio, printTable, verdict } from '../support/report.js';

/**
 * bench/hot-gift (issue 18): one gift everybody wants at once, on a local Redis Cluster of 3
 * masters, stored (a) in one slot, (b) split over 3 buckets, (c) over 9; the same run, one after the
 * other, RUNS times each. The RESERVE script (the delivery app's start-claim, through its OrderStore,
 * the same code the claim runs) is driven directly by CONCURRENCY claims in flight from this
 * process, so Redis and not the apps is what is measured; the BucketRebalancer runs every 100 ms as in
 * the delivery app. Each claim is a new order; one in 20 is a repeat claim of a user who already has
 * one (perUserLimit 1: it must be refused). The gift is claimed until it sells out.
 *
 * Per configuration: RESERVE scripts/s (claims answered ÷ time to sell-out), Redis commands per claim
 * and the hottest master's share of them (INFO commandstats on every master: commands inside scripts
 * count), the masters' and this driver's CPU, stranded stock at sell-out (inventory − reserved when
 * every bucket answers SOLD_OUT), REBALANCING answers (a claim that found its bucket empty even after waiting up to 50 ms for the pass it
 * asked for, as the claim service does), oversell
 * (reserved > inventory, or started ≠ reserved) and per-user limit breaches.
 * Env: HOT_GIFT_UNITS (default 1,000,000), HOT_GIFT_RUNS (3), HOT_GIFT_CONCURRENCY (512).
 */
const UNITS = Number(process.env.HOT_GIFT_UNITS ?? 1_000_000);
const RUNS = Number(process.env.HOT_GIFT_RUNS ?? 3);
const CONCURRENCY = Number(process.env.HOT_GIFT_CONCURRENCY ?? 512);
const CONFIGS = [1, 3, 9];
/** After this many SOLD_OUT answers in a row (every bucket sold out), the gift is done. */
const SOLD_OUT_STREAK = 2_000;
const GIFT = 'red-packet';
const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 600 } as DeliveryConfig;

interface MasterCounters {
  calls: number;
  cpuS: number;
}

interface Outcome {
  buckets: number;
  run: number;
  scriptsPerS: number;
  /** Claims answered ÷ CPU seconds of the busiest master: what the gift sustains when Redis, each master on a core of its own, is the bottleneck. */
  capacityPerS: number;
  answered: number;
  started: number;
  commandsPerClaim: number;
  hottestShare: number;
  redisCpuS: number[];
  driverCpuS: number;
  elapsedS: number;
  stranded: number;
  rebalancing: number;
  /** Units left when a claim first found its bucket empty. */
  remainingAtFirstEmpty: number;
  /** Longest a bucket stayed empty while the gift had stock: from a claim finding it empty to the next claim served there (or to sell-out). */
  longestEmptyMs: number;
  oversold: boolean;
  limitBreaches: number;
  repeatsRefused: number;
}

runBench('hot-gift', { deadlineS: 3_600 }, async (ctx) => {
  ctx.step('starting a local Redis Cluster of 3 masters (no replicas)');
  const cluster = await startRedisCluster({ masters: 3 });
  ctx.defer(() => cluster.stop());
  const masters = await cluster.masters();
  // AOF stays on (appendfsync everysec, as deployed), but no automatic rewrite: its fork of a master
  // holding a million orders would take a core from the measured run of whichever configuration hit it.
  for (const port of masters) await cluster.cli(port, 'CONFIG', 'SET', 'auto-aof-rewrite-percentage', '0');
  const outcomes: Outcome[] = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const buckets of CONFIGS) {
      ctx.step(`run ${run}: ${buckets === 1 ? 'one slot' : `${buckets} buckets`}, ${UNITS.toLocaleString('en-US')} units, ${CONCURRENCY} claims in flight`);
      outcomes.push(await measure(cluster, masters, buckets, run));
      const last = outcomes[outcomes.length - 1];
      ctx.step(`  ${fmtRate(last.scriptsPerS)} scripts/s, ${last.commandsPerClaim.toFixed(1)} commands/claim, hottest master ${fmtRatio(last.hottestShare)}, stranded ${last.stranded}, ${last.rebalancing} REBALANCING, ${last.elapsedS.toFixed(1)} s`);
      // Freed in the background: a synchronous FLUSHALL of a million orders blocks a master past the
      // cluster's node timeout, and the next run would meet a cluster marking it failed.
      for (const port of masters) await cluster.cli(port, 'FLUSHALL', 'ASYNC');
      await cluster.waitHealthy();
      await settle(cluster, masters);
    }
  }
  report(outcomes);
});

async function measure(cluster: LocalRedisCluster, masters: number[], buckets: number, run: number): Promise<Outcome> {
  const redis = createRedis(cluster.url, 'bench-hot-gift');
  const keys = new RedisKeys(`hg-${randomUUID().slice(0, 6)}`);
  const store = new OrderStore(redis, keys, config);
  const rebalancer = new BucketRebalancer(redis, keys);
  try {
    const now = Date.now();
    const published = await new ActivityStore(redis, keys, new SoldOutLatchWriter(redis, keys)).upsertGift('hot', {
      giftId: GIFT, name: 'Red packet', inventory: UNITS, perUserLimit: 1, delivery: 'sync',
      ...(buckets > 1 ? { buckets } : {}), provider: { url: 'http://127.0.0.1:9', orderNumbers: true },
    }, { startsAtMs: now - 60_000, endsAtMs: now + 86_400_000 });
    if (published[0] !== 'ok') throw new Error(`publish failed: ${published.join(' ')}`);
    if (buckets > 1) {
      await rebalancer.rebalance(GIFT);
      rebalancer.start(100);
    }
    const before = await counters(cluster, masters);
    const cpuBefore = process.cpuUsage();
    const startedMs = performance.now();
    const day = new Date(now).toISOString().slice(0, 10);
    const claimsOf = new Map<string, number>();
    const winners: string[] = [];
    let next = 0;
    let answered = 0;
    let started = 0;
    let rebalancing = 0;
    let repeatsRefused = 0;
    let soldOutStreak = 0;
    let soldOutAtMs = 0;
    let remainingAtFirstEmpty = -1;
    const emptySince = new Map<string, number>();
    let longestEmptyMs = 0;
    const worker = async (): Promise<void> => {
      while (soldOutStreak < SOLD_OUT_STREAK) {
        const n = next++;
        // One in 20 claims comes from a user who already won (perUserLimit 1).
        const repeat = n % 20 === 19 && winners.length > 0;
        const userId = repeat ? winners[n % winners.length] : `u${n}`;
        const bucket = giftBuckets.forUser(GIFT, buckets, userId);
        const start = () => store.start(
          { orderId: `o${n}`, userId, giftId: bucket },
          { nowMs: Date.now(), day, createdAtMs: Date.now(), uncertainLimit: 2, paused: false, forceAsync: false },
        );
        let result = await start();
        if (result.kind === 'refused' && result.code === 'REBALANCING') {
          // As the claim service does: wait (at most 50 ms) for the pass it asks for, try once more.
          await rebalancer.refill(GIFT, 50);
          result = await start();
        }
        answered++;
        if (result.kind !== 'refused') {
          if (result.kind === 'existing') throw new Error(`order o${n} already existed`);
          started++;
          winners.push(userId);
          const since = emptySince.get(bucket);
          if (since !== undefined) {
            longestEmptyMs = Math.max(longestEmptyMs, performance.now() - since);
            emptySince.delete(bucket);
          }
          claimsOf.set(userId, (claimsOf.get(userId) ?? 0) + 1);
          soldOutStreak = 0;
        } else if (result.code === 'SOLD_OUT') {
          if (soldOutStreak++ === 0) soldOutAtMs = performance.now();
        } else if (result.code === 'REBALANCING') {
          soldOutStreak = 0;
          rebalancing++;
          if (remainingAtFirstEmpty < 0) remainingAtFirstEmpty = UNITS - started;
          if (!emptySince.has(bucket)) emptySince.set(bucket, performance.now());
        } else if (result.code === 'USER_LIMIT_REACHED' && repeat) repeatsRefused++;
        else throw new Error(`unexpected refusal ${result.code}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedS = ((soldOutAtMs || performance.now()) - startedMs) / 1000;
    // Buckets still empty at the end were empty until the gift sold out.
    for (const since of emptySince.values()) longestEmptyMs = Math.max(longestEmptyMs, (soldOutAtMs || performance.now()) - since);
    const driver = process.cpuUsage(cpuBefore);
    await rebalancer.stop();
    const after = await counters(cluster, masters);
    const calls = masters.map((_, i) => after[i].calls - before[i].calls);
    const total = calls.reduce((a, b) => a + b, 0);
    const ids = giftBuckets.ids(GIFT, buckets);
    const reserved = (await Promise.all(ids.map((id) => redis.hget(keys.gift(id), 'reserved')))).reduce((sum, v) => sum + Number(v ?? 0), 0);
    return {
      buckets,
      run,
      scriptsPerS: answered / elapsedS,
      capacityPerS: answered / Math.max(...masters.map((_, i) => after[i].cpuS - before[i].cpuS)),
      answered,
      started,
      commandsPerClaim: total / answered,
      hottestShare: Math.max(...calls) / total,
      redisCpuS: masters.map((_, i) => after[i].cpuS - before[i].cpuS),
      driverCpuS: (driver.user + driver.system) / 1e6,
      elapsedS,
      stranded: UNITS - reserved,
      rebalancing,
      remainingAtFirstEmpty,
      longestEmptyMs,
      oversold: reserved > UNITS || started !== reserved,
      limitBreaches: [...claimsOf.values()].filter((count) => count > 1).length,
      repeatsRefused,
    };
  } finally {
    await rebalancer.stop();
    await closeRedis(redis as Redis);
  }
}

/**
 * Waits until the masters are idle again: the freeing of the last run's keys done (a background
 * thread whose CPU counts in the master's, so it would land on the next run's busiest master), then
 * the AOF rewritten from the empty data set (its growth would otherwise slow every later run).
 */
async function settle(cluster: LocalRedisCluster, masters: number[]): Promise<void> {
  const field = async (port: number, section: string, name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(await cluster.cli(port, 'INFO', section))?.[1] ?? 0);
  for (const port of masters) {
    while ((await field(port, 'memory', 'lazyfree_pending_objects')) > 0) await new Promise((r) => setTimeout(r, 200));
    await cluster.cli(port, 'BGREWRITEAOF');
    while ((await field(port, 'persistence', 'aof_rewrite_in_progress')) > 0 || (await field(port, 'persistence', 'aof_rewrite_scheduled')) > 0) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Commands served (INFO commandstats, scripts' inner commands included) and CPU seconds, per master. */
async function counters(cluster: LocalRedisCluster, masters: number[]): Promise<MasterCounters[]> {
  return Promise.all(masters.map(async (port) => {
    const stats = await cluster.cli(port, 'INFO', 'commandstats');
    const calls = [...stats.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    const cpu = await cluster.cli(port, 'INFO', 'cpu');
    const cpuS = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0) + Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
    return { calls, cpuS };
  }));
}

function report(outcomes: Outcome[]): void {
  const label = (b: number) => (b === 1 ? '(a) one slot' : `(${b === 3 ? 'b' : 'c'}) ${b} buckets`);
  printTable(`hot gift: ${UNITS.toLocaleString('en-US')} units, claimed to sell-out on a 3-master cluster, ${CONCURRENCY} RESERVE scripts in flight`, [
    'run', 'gift', 'scripts/s', 'capacity/s', 'commands/claim', 'hottest master', 'Redis CPU s (per master)', 'driver CPU s', 'to sell-out s', 'stranded', 'REBALANCING', 'left at first empty', 'longest empty ms', 'oversold', 'limit breaches',
  ], outcomes.map((o) => [
    String(o.run), label(o.buckets), fmtRate(o.scriptsPerS), fmtRate(o.capacityPerS), o.commandsPerClaim.toFixed(1), fmtRatio(o.hottestShare),
    o.redisCpuS.map((s) => s.toFixed(1)).join(' / '), o.driverCpuS.toFixed(1), o.elapsedS.toFixed(1), String(o.stranded),
    String(o.rebalancing), o.remainingAtFirstEmpty < 0 ? '-' : String(o.remainingAtFirstEmpty), o.remainingAtFirstEmpty < 0 ? '-' : o.longestEmptyMs.toFixed(0),
    o.oversold ? 'YES' : '0', String(o.limitBreaches),
  ]));
  const runs = [...new Set(outcomes.map((o) => o.run))];
  const of = (run: number, b: number) => outcomes.find((o) => o.run === run && o.buckets === b)!;
  const x = (value: number) => `${value.toFixed(2)}x`;
  const ratioRows = runs.map((run) => [
    String(run), fmtRate(of(run, 1).scriptsPerS), fmtRate(of(run, 3).scriptsPerS), fmtRate(of(run, 9).scriptsPerS),
    x(of(run, 3).scriptsPerS / of(run, 1).scriptsPerS), x(of(run, 9).scriptsPerS / of(run, 1).scriptsPerS),
    x(of(run, 3).capacityPerS / of(run, 1).capacityPerS), x(of(run, 9).capacityPerS / of(run, 1).capacityPerS),
  ]);
  printTable('(b) and (c) against (a), each run (scripts/s: measured on the shared cores, driver included; capacity: claims per CPU second of the busiest master)', [
    'run', '(a) scripts/s', '(b) scripts/s', '(c) scripts/s', '(b)/(a) scripts', '(c)/(a) scripts', '(b)/(a) capacity', '(c)/(a) capacity',
  ], ratioRows);
  const split = outcomes.filter((o) => o.buckets === 3);
  const ratios = runs.map((run) => of(run, 3).scriptsPerS / of(run, 1).scriptsPerS);
  const capacityRatios = runs.map((run) => of(run, 3).capacityPerS / of(run, 1).capacityPerS);
  const safe = outcomes.every((o) => !o.oversold && o.limitBreaches === 0);
  printTable('goals', ['goal', 'measured', 'verdict'], [
    ['(b) >= 2x (a) scripts/s, measured', ratios.map(x).join(', '), verdict(ratios.every((r) => r >= 2))],
    ['(b) >= 2x (a), capacity of the busiest master', capacityRatios.map(x).join(', '), verdict(capacityRatios.every((r) => r >= 2))],
    ['hottest master <= 40% of the gift\'s commands, (b)', split.map((o) => fmtRatio(o.hottestShare)).join(', '), verdict(split.every((o) => o.hottestShare <= 0.4))],
    ['stranded stock at sell-out <= 0.1%', outcomes.map((o) => o.stranded).join(', '), verdict(outcomes.every((o) => o.stranded <= UNITS * 0.001))],
    ['an empty bucket refilled within 1 s (split gifts)', outcomes.filter((o) => o.buckets > 1).map((o) => `${o.longestEmptyMs.toFixed(0)} ms`).join(', '), verdict(outcomes.every((o) => o.buckets === 1 || o.longestEmptyMs <= 1_000))],
    [`0 oversell, 0 limit breaches (${outcomes.length} sell-outs)`, safe ? '0, 0' : 'VIOLATED', verdict(safe)],
  ]);
}
