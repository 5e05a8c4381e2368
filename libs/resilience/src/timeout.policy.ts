import { TimeoutStrategy, isTaskCancelledError, timeout as cockatielTimeout, type TimeoutPolicy as CockatielTimeout } from 'cockatiel';
import { TimeoutError } from './errors/timeout.error.js';
import type { Policy, PolicyContext } from './policy.js';

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** Time each execution may take, in ms. Required. */
  ms: number;
  /** Name used in the {@link TimeoutError} message (e.g. the class, `fast`). Default `'call'`. */
  label?: string;
}

/**
 * Aggressive timeout (cockatiel `TimeoutStrategy.Aggressive`): when `ms` elapses, the signal
 * passed to `fn` aborts and the call rejects at once with a {@link TimeoutError}, whether or not
 * `fn` honours the signal. A caller abort rejects with the caller's abort reason instead.
 * The timer is unref'ed and cleared when the call settles.
 */
export class TimeoutPolicy implements Policy {
  private readonly inner: CockatielTimeout;
  readonly label: string;

  constructor(readonly ms: number, label = 'call') {
    if (!(ms > 0)) throw new RangeError(`timeout ms must be > 0 (got ${ms})`);
    this.label = label;
    this.inner = cockatielTimeout(ms, TimeoutStrategy.Aggressive).dangerouslyUnref();
  }

  async execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.inner.execute(({ signal: inner }) => fn({ signal: inner, attempt: 1 }), signal);
    } catch (err) {
      if (!isTaskCancelledError(err)) throw err;
      // cockatiel reports a caller abort and its own timer the same way; tell them apart.
      if (signal?.aborted) throw signal.reason ?? err;
      throw new TimeoutError(this.ms, this.label, { cause: err });
    }
  }
}

/** An aggressive per-execution timeout. See {@link TimeoutPolicy}. */
export const timeout = (options: TimeoutOptions): TimeoutPolicy => new TimeoutPolicy(options.ms, options.label);
