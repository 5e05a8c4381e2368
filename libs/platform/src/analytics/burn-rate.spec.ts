import { Prng } from '../../../../test/torture/prng.js';
import { burnWindows, evaluateBurn, type MinuteOutcomes, WORKBOOK_PERIOD_MS, WORKBOOK_RULES } from './burn-rate.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const opts = { objective: 0.995, minVolume: 50 };

/**
 * A fake-clock run: deliveries arrive every second at `perMinute`/min, each failing with
 * `failRate(t)`; outcomes land in per-minute rows as the analyzer writes them; the rules are
 * evaluated every 10 s. Returns the times (ms since start) at which any rule fired.
 */
function simulate(durationMs: number, perMinute: number, failRate: (t: number) => number, rules = burnWindows(DAY), seed = 1): number[] {
  const prng = new Prng(seed);
  const random = () => prng.next();
  const rows = new Map<number, MinuteOutcomes>();
  const fired: number[] = [];
  for (let t = 0; t < durationMs; t += 1000) {
    const minuteMs = Math.floor(t / MIN) * MIN;
    const row = rows.get(minuteMs) ?? { minuteMs, good: 0, bad: 0 };
    rows.set(minuteMs, row);
    for (let i = 0; i < perMinute / 60; i += 1) {
      if (random() < failRate(t)) row.bad += 1;
      else row.good += 1;
    }
    if (t % 10_000 === 0 && evaluateBurn([...rows.values()], t, rules, opts).some((v) => v.firing)) fired.push(t);
  }
  return fired;
}

describe('burn-rate alerts per activity (fake clock)', () => {
  it('scales the workbook windows to the budget period: 1 day by default, 30 days gives the workbook', () => {
    expect(burnWindows(WORKBOOK_PERIOD_MS)).toEqual(WORKBOOK_RULES);
    expect(burnWindows(DAY).map((r) => [r.name, r.factor, r.longMs / MIN, r.shortMs / MIN])).toEqual([
      ['page', 14.4, 2, 1],
      ['ticket', 6, 12, 1],
    ]);
  });

  it('flags an activity whose success drops from 99% to 90% within 2 minutes, after 3 hours at 99%', () => {
    const drop = 3 * 60 * MIN;
    const fired = simulate(drop + 10 * MIN, 600, (t) => (t < drop ? 0.01 : 0.1));
    expect(fired.filter((t) => t < drop)).toEqual([]); // 99% burns 2x: no alert
    const first = fired.find((t) => t >= drop)!;
    expect(first - drop).toBeLessThanOrEqual(2 * MIN);
    expect(fired.at(-1)).toBeGreaterThan(drop + 9 * MIN); // and it keeps firing while the fault lasts
  });

  it('never flags a clean activity with realistic noise (20 seeds, 6 hours each at 99.5-99.9%)', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      expect(simulate(6 * 60 * MIN, 120, () => 0.001 + (seed % 5) * 0.001, burnWindows(DAY), seed)).toEqual([]);
    }
  });

  it('does not fire on a handful of claims (minimum volume), then fires once there are enough', () => {
    const rules = burnWindows(DAY);
    const few: MinuteOutcomes[] = [{ minuteMs: 0, good: 5, bad: 5 }];
    expect(evaluateBurn(few, 30_000, rules, opts).some((v) => v.firing)).toBe(false);
    const enough: MinuteOutcomes[] = [{ minuteMs: 0, good: 25, bad: 25 }];
    expect(evaluateBurn(enough, 30_000, rules, opts).every((v) => v.firing)).toBe(true);
  });

  it('resets within a few minutes after a short outage ends', () => {
    const start = 60 * MIN;
    const fired = simulate(start + 20 * MIN, 600, (t) => (t >= start && t < start + 2 * MIN ? 1 : 0.005));
    expect(fired.length).toBeGreaterThan(0);
    expect(fired.at(-1)! - (start + 2 * MIN)).toBeLessThanOrEqual(3 * MIN); // the short windows clear it
  });

  it('with the workbook 30-day windows: a new activity at 90% is flagged within 2 minutes; after hours at 99% it takes the 1 h window much longer (the trade-off)', () => {
    const workbook = burnWindows(WORKBOOK_PERIOD_MS);
    const fresh = simulate(5 * MIN, 600, () => 0.1, workbook);
    expect(fresh[0]).toBeLessThanOrEqual(2 * MIN);
    const drop = 3 * 60 * MIN;
    const late = simulate(drop + 60 * MIN, 600, (t) => (t < drop ? 0.01 : 0.1), workbook).find((t) => t >= drop);
    expect(late === undefined || late - drop > 30 * MIN).toBe(true);
  });

  it('counts only the share of the oldest minute that lies inside the window', () => {
    const rows: MinuteOutcomes[] = [
      { minuteMs: 0, good: 0, bad: 60 },
      { minuteMs: MIN, good: 60, bad: 0 },
    ];
    // At 1 min 30 s a 1-minute window holds the last 30 s of minute 0 (30 bad) and minute 1 (60 good).
    const [page] = evaluateBurn(rows, MIN + 30_000, [{ name: 'page', factor: 1, longMs: MIN, shortMs: MIN }], opts);
    expect(page.shortBurn).toBeCloseTo((30 / 90) / 0.005, 0);
  });
});
