import { ManualClock } from './clock.js';
import { RetryBudget } from './retry-budget.js';

const drain = (budget: RetryBudget): number => {
  let n = 0;
  while (budget.tryWithdraw()) n++;
  return n;
};

describe('RetryBudget', () => {
  it('allows only the floor (minRetriesPerSecond × window) with no traffic', () => {
    const budget = new RetryBudget({ minRetriesPerSecond: 3, windowMs: 10_000, clock: new ManualClock() });
    expect(budget.available).toBe(30);
    expect(drain(budget)).toBe(30);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('adds ratio × requests on top of the floor', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, clock: new ManualClock() });
    for (let i = 0; i < 1000; i++) budget.recordRequest();
    expect(drain(budget)).toBe(100);
  });

  it('keeps retries within 10% of requests plus the floor under a 100% failing target', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 3, windowMs: 10_000, clock });
    let requests = 0;
    let retries = 0;
    for (let ms = 0; ms < 60_000; ms += 10) { // 100 requests/s for 60 s, each wanting 2 retries
      clock.advance(10);
      budget.recordRequest();
      requests++;
      for (let r = 0; r < 2; r++) if (budget.tryWithdraw()) retries++;
    }
    // Over the run: ≤ 10% of requests plus the floor (3/s) for the run and one extra window.
    expect(retries).toBeLessThanOrEqual(0.1 * requests + 3 * (60 + 10));
    expect(retries / requests).toBeLessThan(0.14);
    expect(retries).toBeGreaterThan(0.1 * requests); // and it does use the budget
  });

  it('slides: withdrawals and deposits expire with their bucket', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 10_000, buckets: 10, clock });
    expect(drain(budget)).toBe(10);
    clock.advance(9_999);
    expect(budget.tryWithdraw()).toBe(false);
    clock.advance(1); // the first bucket (all 10 withdrawals) leaves the window
    expect(drain(budget)).toBe(10);
    clock.advance(60_000); // a long idle gap resets everything in O(buckets)
    expect(budget.available).toBe(10);
  });

  it('validates its options', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(RangeError);
    expect(() => new RetryBudget({ buckets: 0 })).toThrow(RangeError);
  });
});
