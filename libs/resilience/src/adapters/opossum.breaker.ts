import CircuitBreaker from 'opossum';
import { CircuitOpenError } from '../errors/circuit-open.error.js';
import { countsAsFailure as defaultCountsAsFailure } from '../errors/guards.js';
import type { BreakerOptions, BreakerSnapshot, BreakerState, BreakerStateChange, CircuitBreakerPolicy } from '../circuit-breaker.policy.js';
import { neverAborted, type PolicyContext } from '../policy.js';

type Fn = (ctx: PolicyContext) => Promise<unknown>;

/**
 * opossum's action. One module-level function for every breaker: the protected function and its
 * context travel as arguments to `fire()`, so a call creates no closure and no breaker.
 */
const trampoline = (fn: Fn, ctx: PolicyContext): Promise<unknown> => fn(ctx);

/** Options of {@link OpossumBreaker}, on top of {@link BreakerOptions}. */
export interface OpossumBreakerOptions extends BreakerOptions {
  /**
   * Shared emitter that rotates the window buckets of many breakers with one timer (opossum's
   * `rotateBucketController`). Default: each breaker has its own unref'ed interval.
   */
  rotateBucketController?: NodeJS.EventEmitter;
}

/**
 * {@link CircuitBreakerPolicy} on opossum 10. Settings that matter:
 * - `timeout: false`: the timeout policy inside the breaker owns timeouts (and their abort);
 * - `errorFilter`: errors that do not {@link countsAsFailure} are recorded as successes;
 * - `rollingPercentilesEnabled`, `enableSnapshots` off: no latency arrays, no snapshot timer.
 * An open circuit is checked before `fire()`, so a rejection skips opossum's EOPENBREAKER error
 * (and the reused {@link CircuitOpenError} costs no stack capture); opossum's `reject` counter is
 * still fed.
 * opossum reads the global timers, so tests drive it with `jest.useFakeTimers()`.
 */
export class OpossumBreaker implements CircuitBreakerPolicy {
  private readonly breaker: CircuitBreaker<[Fn, PolicyContext], unknown>;
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();
  private readonly retryAfterS: number;
  private current: BreakerState = 'closed';
  private openError: CircuitOpenError | undefined;
  private disposed = false;

  constructor(readonly name: string, options: OpossumBreakerOptions = {}) {
    const halfOpenAfterMs = options.halfOpenAfterMs ?? 5000;
    const counts = options.countsAsFailure ?? defaultCountsAsFailure;
    this.retryAfterS = options.retryAfterS ?? Math.max(1, Math.ceil(halfOpenAfterMs / 1000));
    this.breaker = new CircuitBreaker(trampoline as (fn: Fn, ctx: PolicyContext) => Promise<unknown>, {
      name,
      timeout: false,
      errorThresholdPercentage: options.failureThresholdPercent ?? 50,
      volumeThreshold: options.volumeThreshold ?? 10,
      rollingCountTimeout: options.rollingWindowMs ?? 10_000,
      rollingCountBuckets: options.rollingBuckets ?? 10,
      resetTimeout: halfOpenAfterMs,
      errorFilter: (err: unknown) => !counts(err),
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      ...(options.rotateBucketController ? { rotateBucketController: options.rotateBucketController } : {}),
    });
    this.breaker.on('open', () => this.transition('open'));
    this.breaker.on('halfOpen', () => this.transition('halfOpen'));
    this.breaker.on('close', () => this.transition('closed'));
  }

  get state(): BreakerState {
    return this.current;
  }

  execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal: AbortSignal = neverAborted): Promise<T> {
    const b = this.breaker;
    // Same test opossum makes (open, or half-open with the trial already taken), made first.
    if (this.disposed || (!b.closed && !b.pendingClose)) {
      if (!this.disposed) b.emit('reject');
      // One error per open period, shared by its rejections: capturing a stack costs microseconds
      // per call and every rejection of a period says the same thing. Never mutate it.
      return Promise.reject((this.openError ??= new CircuitOpenError(this.name, { retryAfterS: this.retryAfterS })));
    }
    return b.fire(fn as Fn, { signal, attempt: 1 }) as Promise<T>;
  }

  snapshot(): BreakerSnapshot {
    const { failures, successes, rejects } = this.breaker.stats;
    return { name: this.name, state: this.current, failures, successes, rejects };
  }

  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.breaker.shutdown();
    this.listeners.clear();
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to === 'open') this.openError = undefined;
    for (const listener of this.listeners) listener({ name: this.name, from, to });
  }
}
