import { Logger } from '@nestjs/common';
import { Prng } from '../../../../test/torture/prng.js';
import { ReleaseSupervisor, type RollbackDone, type RolloutSource } from './release.supervisor.js';
import { ReleaseWindows } from './release.windows.js';
import { initialRollout, withCanary, type ReleaseService, type Rollout } from './rollout.js';

/** Seeded random source (the torture checker's mulberry32): every run of the spec draws the same numbers. */
function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

/** Rollouts in memory with the store's compare-and-set on the generation. */
class MemoryRollouts implements RolloutSource {
  private readonly rollouts = new Map<ReleaseService, Rollout>([['query', initialRollout('query')], ['delivery', initialRollout('delivery')]]);
  stored = 0;
  get(service: ReleaseService): Rollout {
    return this.rollouts.get(service)!;
  }
  compareAndSet(next: Rollout): Promise<boolean> {
    if (this.get(next.service).generation !== next.generation - 1) return Promise.resolve(false);
    this.rollouts.set(next.service, next);
    this.stored++;
    return Promise.resolve(true);
  }
}

// Five activities, one gift each; three providers (two activities share one, as shops do).
const ACTIVITIES = [
  { gift: 'g1', activityId: 'a1', provider: 'http://p1', share: 0.4 },
  { gift: 'g2', activityId: 'a2', provider: 'http://p1', share: 0.25 },
  { gift: 'g3', activityId: 'a3', provider: 'http://p2', share: 0.2 },
  { gift: 'g4', activityId: 'a4', provider: 'http://p3', share: 0.1 },
  { gift: 'g5', activityId: 'a5', provider: 'http://p3', share: 0.05 },
];
const places = { place: (giftId: string) => ACTIVITIES.find((a) => a.gift === giftId) };

interface Fault {
  /** Steps up by the rollout's own schedule (60 s at 5 %, 60 s at 20 %, then 50 %) instead of the operator's PUTs. */
  isScheduled?: boolean;
  /** The canary fails this gift's calls with this probability. */
  failGift?: { gift: string; rate: number };
  /** The canary adds this latency (ms) to this gift's calls. */
  slowGift?: { gift: string; addMs: number };
}

/**
 * One simulated canary rollout of 5 minutes on 2 gateways (judging the same cluster-wide tallies) at 40 claims/s in all, weight 5 % for a
 * minute, then 20 %, then 50 %, judged every 10 s. Realistic noise that hits both releases alike:
 * a base failure rate per activity drawn in 0.1-2 %, provider hiccups (a provider failing 30 % of
 * calls for 3 s, about every 40 s), log-normal latencies with a 1 % slow tail. Returns the time of
 * the first rollback (s from the start) and what it named, or undefined.
 */
async function simulateRollout(seed: number, fault: Fault = {}, weights: number[] = []): Promise<{ atS: number; done: RollbackDone } | undefined> {
  const random = seeded(seed);
  let nowMs = 1_700_000_000_000;
  const rollouts = new MemoryRollouts();
  const steps = fault.isScheduled ? [{ weightPct: 20, afterS: 60 }, { weightPct: 50, afterS: 60 }] : undefined;
  await rollouts.compareAndSet(withCanary(rollouts.get('delivery'), { canary: 'canary-1', weightPct: 5, reason: 'sim', actor: 'sim', steps }, new Date(nowMs)));
  let generation = rollouts.get('delivery').generation;
  // Both gateways judge the cluster's tallies (ClusterTallies): one shared window here.
  const windows = new ReleaseWindows();
  const gateways = [0, 1].map(() => {
    const done: RollbackDone[] = [];
    const supervisor = new ReleaseSupervisor(rollouts, windows, places, (d) => Promise.resolve(void done.push(d)), { gatewayId: 'sim', now: () => nowMs });
    return { windows, supervisor, done };
  });
  const baseFailure = ACTIVITIES.map(() => 0.001 + random() * 0.019);
  const hiccupUntil = new Map<string, number>();
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const startMs = nowMs;
  const runMs = 300_000;
  const stepMs = 25; // one claim every 25 ms = 40/s
  let nextTickMs = nowMs + 10_000;
  for (; nowMs < startMs + runMs; nowMs += stepMs) {
    const elapsed = nowMs - startMs;
    const weight = elapsed < 60_000 ? 5 : elapsed < 120_000 ? 20 : 50;
    const current = rollouts.get('delivery');
    if (!fault.isScheduled && current.state === 'progressing' && current.weightPct !== weight) {
      await rollouts.compareAndSet(withCanary(current, { canary: 'canary-1', weightPct: weight, reason: 'step', actor: 'sim' }, new Date(nowMs)));
    }
    if (rollouts.get('delivery').generation !== generation) {
      generation = rollouts.get('delivery').generation;
      windows.restart('delivery'); // as GrayRelease does on every rollout change
      weights.push(rollouts.get('delivery').weightPct);
    }
    for (const p of ['http://p1', 'http://p2', 'http://p3']) if (random() < stepMs / 40_000) hiccupUntil.set(p, nowMs + 3_000);
    let r = random();
    const at = ACTIVITIES.findIndex((a) => (r -= a.share) < 0);
    const activity = ACTIVITIES[at < 0 ? 0 : at];
    const rollout = rollouts.get('delivery');
    const isCanary = rollout.state === 'progressing' && random() * 100 < rollout.weightPct;
    let failure = baseFailure[ACTIVITIES.indexOf(activity)];
    if ((hiccupUntil.get(activity.provider) ?? 0) > nowMs) failure = Math.max(failure, 0.3);
    if (isCanary && fault.failGift?.gift === activity.gift) failure = Math.max(failure, fault.failGift.rate);
    let latencyMs = random() < 0.01 ? 300 + random() * 900 : Math.exp(Math.log(20) + 0.6 * normal());
    if (isCanary && fault.slowGift?.gift === activity.gift) latencyMs += fault.slowGift.addMs;
    const gateway = gateways[random() < 0.5 ? 0 : 1];
    gateway.windows.record('delivery', isCanary ? 'canary-1' : 'stable', activity.gift, random() >= failure, latencyMs, nowMs);
    if (nowMs >= nextTickMs) {
      nextTickMs += 10_000;
      for (const g of gateways) {
        const [done] = await g.supervisor.tick();
        if (done) return { atS: (nowMs - startMs) / 1_000, done };
      }
    }
  }
  return undefined;
}

describe('ReleaseSupervisor (fake clock simulation)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));
  it('100 clean canary rollouts with realistic noise: at most 1 false rollback', async () => {
    const rollbacks: Array<{ seed: number; atS: number; done: RollbackDone }> = [];
    for (let seed = 1; seed <= 100; seed++) {
      const result = await simulateRollout(seed);
      if (result) rollbacks.push({ seed, ...result });
    }
    process.stdout.write(`clean runs: ${rollbacks.length} false rollbacks in 100 ${JSON.stringify(rollbacks.map((r) => ({ seed: r.seed, atS: r.atS, key: `${r.done.comparison.kind}:${r.done.comparison.id}` })))}\n`);
    expect(rollbacks.length).toBeLessThanOrEqual(1);
  });

  it('rolls back a canary that breaks one small activity (5 % of claims) within 90 s of the start at 5 % weight, naming it', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = await simulateRollout(seed, { failGift: { gift: 'g5', rate: 1 } });
      process.stdout.write(`broken g5 seed ${seed}: rolled back at ${result?.atS} s\n`);
      expect(result).toBeDefined();
      expect(result!.done.comparison).toMatchObject({ verdict: 'worse-success' });
      expect(['activity:a5', 'provider:http://p3']).toContain(`${result!.done.comparison.kind}:${result!.done.comparison.id}`);
      // At 5 % weight a 5 % activity gets 0.1 canary claims/s: judged once a gateway's window holds enough of them.
      expect(result!.atS).toBeLessThanOrEqual(90);
    }
  });

  it('rolls back a canary that makes one activity slow', async () => {
    const result = await simulateRollout(7, { slowGift: { gift: 'g1', addMs: 800 } });
    expect(result).toBeDefined();
    expect(result!.done.comparison).toMatchObject({ verdict: 'worse-latency' });
  });

  it('steps up by the operator\'s schedule while the canary is judged clean, and stops at a rollback', async () => {
    const weights: number[] = [];
    expect(await simulateRollout(11, { isScheduled: true }, weights)).toBeUndefined();
    expect(weights).toEqual([20, 50]); // each step once, though two gateways judge
    const brokenWeights: number[] = [];
    const broken = await simulateRollout(12, { isScheduled: true, failGift: { gift: 'g1', rate: 0.5 } }, brokenWeights);
    expect(broken?.done.comparison.verdict).toBe('worse-success');
    expect(brokenWeights).toEqual([]); // rolled back at 5 %: no step was taken before (and none after: the schedule is dropped)
    expect(broken!.atS).toBeLessThan(60);
  });

  it('stores one rollback when both gateways see the regression (compare-and-set on the generation)', async () => {
    const rollouts = new MemoryRollouts();
    await rollouts.compareAndSet(withCanary(rollouts.get('delivery'), { canary: 'c', weightPct: 50, reason: 'r', actor: 'a' }, new Date()));
    const nowMs = 1_000_000;
    const supervisors = [0, 1].map(() => {
      const windows = new ReleaseWindows();
      for (let i = 0; i < 20; i++) windows.record('delivery', 'c', 'g1', false, 10, nowMs);
      for (let i = 0; i < 40; i++) windows.record('delivery', 'stable', 'g1', true, 10, nowMs);
      return new ReleaseSupervisor(rollouts, windows, places, () => Promise.resolve(), { gatewayId: 'g', now: () => nowMs });
    });
    const results = await Promise.all(supervisors.map((s) => s.tick()));
    expect(results.flat()).toHaveLength(1);
    expect(rollouts.stored).toBe(2); // the canary, then one rollback
    expect(rollouts.get('delivery')).toMatchObject({ state: 'rolled-back', weightPct: 0, canary: 'c' });
  });
});
