import { AppError, ErrorCode } from '@app/contracts';
import { ManualClock } from './clock.js';
import { CircuitOpenError } from './errors/circuit-open.error.js';
import { TimeoutError } from './errors/timeout.error.js';
import { RetryBudget } from './retry-budget.js';
import { retry, exponential } from './retry.policy.js';
import { SuccessRateGate } from './success-rate.gate.js';
import type { PolicyContext } from './policy.js';

const noDelay = exponential({ initialMs: 0, maxMs: 0 });
const failing = (err: unknown = new TimeoutError(300)) => jest.fn(async (_ctx: PolicyContext): Promise<string> => { throw err; });

describe('RetryPolicy', () => {
  it('retries a retryable error of an idempotent call up to maxAttempts, numbering attempts from 1', async () => {
    const fn = failing();
    await expect(retry({ idempotent: true, maxAttempts: 3, backoff: noDelay }).execute(fn)).rejects.toBeInstanceOf(TimeoutError);
    expect(fn.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3]);
  });

  it('lets the caller move each retry to another instance', async () => {
    const used: string[] = [];
    const instances = ['a', 'b', 'c'];
    const value = await retry({ idempotent: true, backoff: noDelay }).execute(async ({ attempt }) => {
      const instance = instances.filter((i) => !used.includes(i))[0];
      used.push(instance);
      if (attempt < 3) throw new AppError(ErrorCode.UpstreamUnreachable, 'refused', { retryable: true });
      return instance;
    });
    expect(value).toBe('c');
    expect(used).toEqual(['a', 'b', 'c']);
  });

  it('never retries a non-idempotent call', async () => {
    const fn = failing();
    await expect(retry({ idempotent: false, maxAttempts: 5 }).execute(fn)).rejects.toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a business error', new AppError(ErrorCode.SoldOut, 'sold out')],
    ['an open circuit', new CircuitOpenError('query')],
    ['a plain Error', new Error('bug')],
  ])('does not retry %s by default', async (_name, err) => {
    const fn = failing(err);
    await expect(retry({ idempotent: true, backoff: noDelay }).execute(fn)).rejects.toBe(err);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not retry while the success-rate gate is closed, and spends no budget then', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000, clock: new ManualClock() }); // 1 token
    const gate = new SuccessRateGate({ successRate: () => 0.5 });
    const policy = retry({ idempotent: true, backoff: noDelay, gate, budget });
    const suppressed: string[] = [];
    policy.onSuppressed((e) => suppressed.push(e.reason));
    const fn = failing();
    await expect(policy.execute(fn)).rejects.toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(suppressed).toEqual(['gate']);
    expect(budget.available).toBe(1);
  });

  it('stops retrying when the budget is spent', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000, clock: new ManualClock() }); // 1 token
    const policy = retry({ idempotent: true, maxAttempts: 3, backoff: noDelay, budget });
    const fn = failing();
    await expect(policy.execute(fn)).rejects.toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(2); // one retry, then the budget says no
    const again = failing();
    await expect(policy.execute(again)).rejects.toBeInstanceOf(TimeoutError);
    expect(again).toHaveBeenCalledTimes(1);
  });

  it('spends no token on the last failure (no retry follows it)', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.3, windowMs: 10_000, clock: new ManualClock() }); // 3 tokens
    await retry({ idempotent: true, maxAttempts: 2, backoff: noDelay, budget }).execute(failing()).catch(() => undefined);
    expect(budget.available).toBe(2);
  });

  it('waits a jittered exponential backoff on the injected clock, and an abort cuts the wait short', async () => {
    const clock = new ManualClock();
    const policy = retry({ idempotent: true, maxAttempts: 3, backoff: exponential({ initialMs: 100, maxMs: 100 }), clock });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const ctrl = new AbortController();
    const fn = failing();
    const p = policy.execute(fn, ctrl.signal);
    await Promise.resolve();
    await Promise.resolve();
    expect(fn).toHaveBeenCalledTimes(1);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(0);
    expect(delays[0]).toBeLessThanOrEqual(100);
    const reason = new Error('caller gone');
    ctrl.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pending).toBe(0);
  });

  it('returns the first success', async () => {
    let n = 0;
    const value = await retry({ idempotent: true, backoff: noDelay }).execute(async () => {
      if (n++ === 0) throw new TimeoutError(300);
      return 'second';
    });
    expect(value).toBe('second');
  });
});
