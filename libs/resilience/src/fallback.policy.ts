import { isUnavailable } from './errors/guards.js';
import type { Policy, PolicyContext } from './policy.js';

/** Options of {@link fallback}. */
export interface FallbackOptions<R> {
  /** Which errors get the fallback; others are rethrown. Default {@link isUnavailable} (circuit open, bulkhead full, timeout, transport, 5xx). */
  when?: (err: unknown) => boolean;
  /** The answer instead of the error (e.g. a `202 queued` reply for a claim). Throw to keep an error. */
  value: (err: unknown) => R | Promise<R>;
}

/**
 * Outermost layer: runs `inner`, and when it fails with an error `when` accepts, answers
 * `value(err)` instead (cockatiel's `fallback`). For reads keyed per call, the stale cache's
 * `readThrough()` is the keyed form of the same thing.
 */
export class FallbackPolicy<R> {
  private readonly when: (err: unknown) => boolean;

  constructor(private readonly inner: Policy, private readonly options: FallbackOptions<R>) {
    this.when = options.when ?? isUnavailable;
  }

  async execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T | R> {
    try {
      return await this.inner.execute(fn, signal);
    } catch (err) {
      if (!this.when(err)) throw err;
      return this.options.value(err);
    }
  }
}

/** Wraps `inner` with a fallback answer. See {@link FallbackPolicy}. */
export const fallback = <R>(inner: Policy, options: FallbackOptions<R>): FallbackPolicy<R> => new FallbackPolicy(inner, options);
