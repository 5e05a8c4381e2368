import { ExponentialBackoff, type IBackoff, type IBackoffFactory } from 'cockatiel';
import { isAppError } from '@app/contracts';
import { systemClock, type Clock } from './clock.js';
import type { Policy, PolicyContext } from './policy.js';
import { neverAborted } from './policy.js';
import type { RetryBudget } from './retry-budget.js';
import type { SuccessRateGate } from './success-rate.gate.js';

/** Why a retry that `retryOn` accepted was not sent. */
export type RetrySuppressedReason = 'gate' | 'budget';

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Whether the protected call may be repeated without harm (a read, or a write with an
   * idempotency key the callee honours). Required: a non-idempotent call is never retried.
   */
  idempotent: boolean;
  /** Attempts in all, the first included (gRPC caps this at 5). Default 3. */
  maxAttempts?: number;
  /** Delays between attempts. Default {@link exponential}`({ initialMs: 25, maxMs: 250 })` (Envoy's base and 10× cap). */
  backoff?: IBackoffFactory<unknown>;
  /** Which errors are worth another attempt. Default: an AppError marked `retryable` (timeouts, transport). */
  retryOn?: (err: unknown) => boolean;
  /** Refuses retries while the target's success rate is low. Default none. */
  gate?: SuccessRateGate;
  /** Caps retries at a fraction of requests; shared per target service. Default none. */
  budget?: RetryBudget;
  /** Time source for the backoff delays. Default the system clock. */
  clock?: Clock;
}

/** Jittered exponential backoff (cockatiel's `ExponentialBackoff`, decorrelated jitter). */
export function exponential(options: {
  /** Scale of the first delay, in ms. Default 25. */
  initialMs?: number;
  /** Largest delay, in ms. Default 250. */
  maxMs?: number;
} = {}): IBackoffFactory<unknown> {
  return new ExponentialBackoff({ initialDelay: options.initialMs ?? 25, maxDelay: options.maxMs ?? 250 });
}

/** The default `retryOn`: AppErrors that say so (an open circuit or full bulkhead never does). */
export const isRetryable = (err: unknown): boolean => isAppError(err) && err.retryable;

/**
 * Gated retry. An attempt that fails with an error `retryOn` accepts is repeated, after a jittered
 * backoff, only when: the call is idempotent, attempts remain, the caller has not aborted, the
 * {@link SuccessRateGate} allows it, and the {@link RetryBudget} has a token (checked in that
 * order, so a gated retry spends no token). `ctx.attempt` counts from 1; the caller uses it to send
 * each retry to a different instance.
 *
 * Why our own loop around cockatiel's backoff, not cockatiel's `RetryPolicy`: its error filter does
 * not see the attempt number, so a budget token would be spent on the final failure that is never
 * retried; and its backoff delay ignores the abort signal.
 */
export class RetryPolicy implements Policy {
  private readonly maxAttempts: number;
  private readonly backoff: IBackoffFactory<unknown>;
  private readonly retryOn: (err: unknown) => boolean;
  private readonly clock: Clock;
  private readonly retryListeners = new Set<(e: { attempt: number; delayMs: number; error: unknown }) => void>();
  private readonly suppressedListeners = new Set<(e: { reason: RetrySuppressedReason; error: unknown }) => void>();

  constructor(private readonly options: RetryOptions) {
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer ≥ 1 (got ${this.maxAttempts})`);
    this.backoff = options.backoff ?? exponential();
    this.retryOn = options.retryOn ?? isRetryable;
    this.clock = options.clock ?? systemClock;
  }

  async execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal: AbortSignal = neverAborted): Promise<T> {
    this.options.budget?.recordRequest();
    if (!this.options.idempotent || this.maxAttempts === 1) return fn({ signal, attempt: 1 });
    let backoff: IBackoff<unknown> | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn({ signal, attempt });
      } catch (error) {
        if (attempt >= this.maxAttempts || signal.aborted || !this.retryOn(error)) throw error;
        const reason = this.refusal();
        if (reason) {
          for (const listener of this.suppressedListeners) listener({ reason, error });
          throw error;
        }
        backoff = backoff ? backoff.next(undefined) : this.backoff.next(undefined);
        const delayMs = backoff.duration;
        for (const listener of this.retryListeners) listener({ attempt: attempt + 1, delayMs, error });
        await this.sleep(delayMs, signal);
      }
    }
  }

  /** Fires before each retry's backoff, with the attempt about to be made (from 2). */
  onRetry(listener: (e: { attempt: number; delayMs: number; error: unknown }) => void): () => void {
    this.retryListeners.add(listener);
    return () => this.retryListeners.delete(listener);
  }

  /** Fires when the gate or the budget refused a retry. */
  onSuppressed(listener: (e: { reason: RetrySuppressedReason; error: unknown }) => void): () => void {
    this.suppressedListeners.add(listener);
    return () => this.suppressedListeners.delete(listener);
  }

  private refusal(): RetrySuppressedReason | undefined {
    if (this.options.gate && !this.options.gate.allows()) return 'gate';
    if (this.options.budget && !this.options.budget.tryWithdraw()) return 'budget';
    return undefined;
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        timer.clear();
        reject(signal.reason);
      };
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A gated retry. See {@link RetryPolicy}. */
export const retry = (options: RetryOptions): RetryPolicy => new RetryPolicy(options);
