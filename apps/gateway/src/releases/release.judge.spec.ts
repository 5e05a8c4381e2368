import { LATENCY_BOUNDS_MS, SuccessRateWindow, type WindowTally } from '@app/routing';
import { compareReleases, DEFAULT_JUDGE_OPTIONS } from './release.judge.js';
import { binomialUpperTail, fisherWorseTail } from './release.statistics.js';

/** A tally of `ok` successes and `failed` failures, every call taking `latencyMs`. */
function tally(ok: number, failed: number, latencyMs = 20, slow = 0, slowMs = 1_000): WindowTally {
  const window = new SuccessRateWindow({ windowMs: 60_000, buckets: 6 });
  for (let i = 0; i < ok; i++) window.record(1, true, i < slow ? slowMs : latencyMs);
  for (let i = 0; i < failed; i++) window.record(1, false, latencyMs);
  return window.tally(1);
}
const key = { kind: 'activity', id: 'a1' } as const;

describe('release statistics', () => {
  it('Fisher tail: all 8 canary calls failing against 32 clean stable calls is 1 in 77 million', () => {
    expect(fisherWorseTail(8, 8, 0, 32)).toBeCloseTo(1 / 76_904_685, 12);
    expect(fisherWorseTail(0, 8, 3, 32)).toBe(1);
    // Equal rates are unremarkable.
    expect(fisherWorseTail(2, 100, 8, 400)).toBeGreaterThan(0.3);
  });

  it('binomial tail: matches hand values', () => {
    expect(binomialUpperTail(1, 1, 0.5)).toBeCloseTo(0.5);
    expect(binomialUpperTail(2, 2, 0.5)).toBeCloseTo(0.25);
    expect(binomialUpperTail(0, 10, 0.1)).toBe(1);
    expect(binomialUpperTail(10, 10, 0.1)).toBeCloseTo(1e-10, 15);
  });
});

describe('compareReleases', () => {
  it('does not judge under the volume gate', () => {
    expect(compareReleases(key, tally(0, 4), tally(100, 0)).verdict).toBe('too-few');
  });

  it('rolls back a canary whose activity fails while stable does not', () => {
    const c = compareReleases(key, tally(0, 8), tally(32, 0));
    expect(c).toMatchObject({ verdict: 'worse-success', canary: { requests: 8, successRate: 0 }, stable: { requests: 32, successRate: 1 } });
    expect(c.pValue).toBeLessThan(DEFAULT_JUDGE_OPTIONS.alpha);
  });

  it('keeps a canary whose failures are within noise or below the minimum effect', () => {
    expect(compareReleases(key, tally(97, 3), tally(390, 10)).verdict).toBe('ok');
    // Significant but tiny: 0.4 % worse on 100 000 calls is not worth a rollback.
    expect(compareReleases(key, tally(99_400, 600), tally(398_000, 800)).verdict).toBe('ok');
  });

  it('rolls back a canary whose p99 is far above stable, not one that is a little slower', () => {
    const slow = compareReleases(key, tally(200, 0, 20, 20, 1_000), tally(800, 0, 20, 4, 40));
    expect(slow.verdict).toBe('worse-latency');
    expect(slow.canary.p99Ms).toBe(1_000);
    expect(compareReleases(key, tally(200, 0, 30), tally(800, 0, 20)).verdict).toBe('ok');
    expect(LATENCY_BOUNDS_MS).toContain(slow.stable.p99Ms);
  });
});
