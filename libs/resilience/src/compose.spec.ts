import { AppError, ErrorCode } from '@app/contracts';
import { BreakerRegistry } from './breaker-registry.js';
import { BulkheadPolicy } from './bulkhead.policy.js';
import { compose } from './compose.js';
import { CircuitOpenError } from './errors/circuit-open.error.js';
import { BulkheadFullError } from './errors/bulkhead-full.error.js';
import { TimeoutError } from './errors/timeout.error.js';
import type { Policy, PolicyContext } from './policy.js';
import { exponential, retry } from './retry.policy.js';
import { TimeoutPolicy } from './timeout.policy.js';

/** A policy that records when it is entered and left, for order checks. */
const tracer = (name: string, log: string[]): Policy => ({
  async execute(fn, signal) {
    log.push(`>${name}`);
    try {
      return await fn({ signal: signal ?? new AbortController().signal, attempt: 1 });
    } finally {
      log.push(`<${name}`);
    }
  },
});

const noDelay = exponential({ initialMs: 0, maxMs: 0 });

describe('compose', () => {
  it('nests outermost first', async () => {
    const log: string[] = [];
    await compose(tracer('a', log), tracer('b', log), tracer('c', log)).execute(async () => log.push('fn'));
    expect(log).toEqual(['>a', '>b', '>c', 'fn', '<c', '<b', '<a']);
  });

  it('passes each layer signal inward and the retry attempt through the inner layers', async () => {
    const seen: PolicyContext[] = [];
    const caller = new AbortController();
    const policy = compose(retry({ idempotent: true, maxAttempts: 2, backoff: noDelay }), new TimeoutPolicy(1000));
    await policy
      .execute(async (ctx) => {
        seen.push(ctx);
        throw new TimeoutError(1);
      }, caller.signal)
      .catch(() => undefined);
    expect(seen.map((c) => c.attempt)).toEqual([1, 2]);
    expect(seen[0].signal).not.toBe(caller.signal); // the timeout's own, derived signal
    expect(seen[1].signal).not.toBe(seen[0].signal); // one per attempt
  });

  it('aborts the innermost signal when the caller aborts', async () => {
    const caller = new AbortController();
    let inner: AbortSignal | undefined;
    const p = compose(retry({ idempotent: true }), new TimeoutPolicy(1000)).execute(({ signal }) => {
      inner = signal;
      return new Promise<never>(() => undefined);
    }, caller.signal);
    caller.abort(new Error('gone'));
    await expect(p).rejects.toThrow('gone');
    expect(inner!.aborted).toBe(true);
  });

  describe('retry → bulkhead → breaker → timeout (the documented order)', () => {
    let breakers: BreakerRegistry;
    beforeEach(() => {
      jest.useFakeTimers();
      breakers = new BreakerRegistry({ volumeThreshold: 3, halfOpenAfterMs: 1000 });
    });
    afterEach(() => {
      breakers.dispose();
      jest.useRealTimers();
    });

    const build = (bulkhead = new BulkheadPolicy({ name: 'fast', maxConcurrent: 10 })) =>
      compose(retry({ idempotent: true, maxAttempts: 3, backoff: noDelay }), bulkhead, breakers.for('query.getGift'), new TimeoutPolicy(300, 'fast'));

    it('times out each attempt separately, and each timed-out attempt counts in the breaker', async () => {
      const policy = build();
      let calls = 0;
      const p = policy.execute(() => {
        calls++;
        return new Promise<never>(() => undefined);
      });
      const settled = p.catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(300);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(600);
      expect(await settled).toBeInstanceOf(TimeoutError);
      expect(calls).toBe(3);
      expect(breakers.for('query.getGift').snapshot()).toMatchObject({ failures: 3, state: 'open' });
    });

    it('does not retry an open circuit: it fails fast and fn is not called', async () => {
      const policy = build();
      await policy.execute(() => Promise.reject(new TimeoutError(300))).catch(() => undefined); // 3 attempts: opens
      const fn = jest.fn(async () => 'x');
      await expect(policy.execute(fn)).rejects.toBeInstanceOf(CircuitOpenError);
      expect(fn).not.toHaveBeenCalled();
      expect(breakers.for('query.getGift').snapshot().rejects).toBe(1);
    });

    it('keeps a full bulkhead out of the breaker and out of retries', async () => {
      const bulkhead = new BulkheadPolicy({ name: 'fast', maxConcurrent: 1 });
      const policy = build(bulkhead);
      const hung = policy.execute(() => new Promise<never>(() => undefined)).catch(() => undefined);
      const fn = jest.fn(async () => 'x');
      await expect(policy.execute(fn)).rejects.toBeInstanceOf(BulkheadFullError);
      expect(fn).not.toHaveBeenCalled();
      expect(bulkhead.snapshot().rejected).toBe(1); // rejected once: not retried
      expect(breakers.for('query.getGift').snapshot()).toMatchObject({ failures: 0, successes: 0 });
      await jest.advanceTimersByTimeAsync(1000);
      await hung;
    });

    it('passes business errors straight through: no retry, no breaker failure', async () => {
      const policy = build();
      const fn = jest.fn(async () => {
        throw new AppError(ErrorCode.NotFound, 'no such gift');
      });
      for (let i = 0; i < 5; i++) await expect(policy.execute(fn)).rejects.toMatchObject({ code: ErrorCode.NotFound });
      expect(fn).toHaveBeenCalledTimes(5);
      expect(breakers.for('query.getGift').state).toBe('closed');
    });
  });
});
