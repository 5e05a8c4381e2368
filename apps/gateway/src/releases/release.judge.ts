import { LATENCY_BOUNDS_MS, p99OfHistogram, type WindowTally } from '@app/routing';
import { binomialUpperTail, fisherWorseTail } from './release.statistics.js';

/** What a canary is compared on: one activity, or one provider (the origin of its URL). */
export interface JudgedKey {
  kind: 'activity' | 'provider';
  id: string;
}

/** One side of a comparison, as shown in `GET /admin/releases` and in a rollback's evidence. */
export interface SideFigures {
  requests: number;
  successRate: number;
  p99Ms: number;
}

/** Canary against stable for one key. */
export interface Comparison extends JudgedKey {
  canary: SideFigures;
  stable: SideFigures;
  /** `too-few`: under the volume gate; `worse-success` / `worse-latency`: a significant regression. */
  verdict: 'ok' | 'too-few' | 'worse-success' | 'worse-latency';
  /** The test's p-value for the verdict it reached (the smaller of both tests when ok). */
  pValue?: number;
}

/** Thresholds of the judge. */
export interface JudgeOptions {
  /** Calls each side needs in the window before its success rate is judged. Default 5. */
  minRequests: number;
  /** Calls each side needs before its p99 is judged (a p99 of fewer is just the maximum). Default 100. */
  minLatencyRequests: number;
  /**
   * Significance level of each test (one-sided). Default 1e-5: about 20 keys x 2 tests x 30 ticks
   * per rollout, on 2 gateways, keep false rollbacks under 1 in 100 clean rollouts (the tests are
   * exact and discrete, so the real rate is lower still; see the simulation spec).
   */
  alpha: number;
  /** Smallest drop in success rate (0-1) worth a rollback, however significant. Default 0.05. */
  minSuccessDrop: number;
  /** Smallest p99 ratio canary/stable worth a rollback. Default 1.5. */
  minLatencyRatio: number;
  /** Smallest p99 increase worth a rollback, in ms. Default 100. */
  minLatencyIncreaseMs: number;
}

export const DEFAULT_JUDGE_OPTIONS: Readonly<JudgeOptions> = Object.freeze({
  minRequests: 5,
  minLatencyRequests: 100,
  alpha: 1e-5,
  minSuccessDrop: 0.05,
  minLatencyRatio: 1.5,
  minLatencyIncreaseMs: 100,
});

/** Share of stable calls above its own p99 bin that the latency test allows the canary (a 1 % tail, doubled for slack). */
const SLOW_SHARE_UNDER_H0 = 0.02;

/**
 * Compares the canary with stable for one key. Success: one-sided Fisher exact test on failures,
 * plus a minimum effect (`minSuccessDrop`). Latency: the canary's calls slower than stable's p99 bin
 * are counted; under "no regression" each is slow with probability ≤ 2 %, so a binomial tail below
 * alpha, with the canary's p99 at least `minLatencyRatio` x and `minLatencyIncreaseMs` above stable's,
 * is a regression. Pure: the same tallies give the same verdict on every gateway.
 */
export function compareReleases(key: JudgedKey, canary: WindowTally, stable: WindowTally, options: JudgeOptions = DEFAULT_JUDGE_OPTIONS): Comparison {
  const c = figures(canary);
  const s = figures(stable);
  const base = { ...key, canary: c, stable: s };
  if (c.requests < options.minRequests || s.requests < options.minRequests) return { ...base, verdict: 'too-few' };
  const pSuccess = fisherWorseTail(canary.failed, c.requests, stable.failed, s.requests);
  if (pSuccess < options.alpha && s.successRate - c.successRate >= options.minSuccessDrop) {
    return { ...base, verdict: 'worse-success', pValue: pSuccess };
  }
  let pLatency = 1;
  if (c.requests >= options.minLatencyRequests && s.requests >= options.minLatencyRequests) {
    const slowBin = LATENCY_BOUNDS_MS.indexOf(s.p99Ms === 0 ? LATENCY_BOUNDS_MS[0] : s.p99Ms);
    let slow = 0;
    for (let bin = slowBin + 1; bin < canary.hist.length; bin++) slow += canary.hist[bin];
    pLatency = binomialUpperTail(slow, c.requests, SLOW_SHARE_UNDER_H0);
    const isLarge = c.p99Ms >= s.p99Ms * options.minLatencyRatio && c.p99Ms - s.p99Ms >= options.minLatencyIncreaseMs;
    if (pLatency < options.alpha && isLarge) return { ...base, verdict: 'worse-latency', pValue: pLatency };
  }
  return { ...base, verdict: 'ok', pValue: Math.min(pSuccess, pLatency) };
}

/** Sums tallies (e.g. every gift of one activity). */
export function addTallies(into: WindowTally, from: WindowTally): WindowTally {
  into.ok += from.ok;
  into.failed += from.failed;
  for (let i = 0; i < from.hist.length; i++) into.hist[i] = (into.hist[i] ?? 0) + from.hist[i];
  return into;
}

/** An empty tally. */
export function emptyTally(): WindowTally {
  return { ok: 0, failed: 0, hist: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0) };
}

function figures(tally: WindowTally): SideFigures {
  const requests = tally.ok + tally.failed;
  return { requests, successRate: requests === 0 ? 1 : round(tally.ok / requests), p99Ms: p99OfHistogram(tally.hist) };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
