/** What each policy hands to the function it protects. */
export interface PolicyContext {
  /** Aborted when the caller gives up, the attempt times out, or the policy is disposed. Pass it to I/O. */
  signal: AbortSignal;
  /**
   * Attempt number, from 1. A retry policy outside raises it; the caller uses it to send a retry to
   * a different instance (exclude the endpoint of the previous attempt).
   */
  attempt: number;
}

/**
 * One protection around an async call: timeout, bulkhead, circuit breaker, retry, or a composition
 * of them (`compose()`). Same shape as cockatiel's `IPolicy.execute`.
 */
export interface Policy {
  /**
   * Runs `fn` under this policy.
   * @param signal the caller's signal; when it aborts, the signal passed to `fn` aborts too.
   */
  execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** A signal that never aborts, shared so that calls without a signal allocate nothing. */
export const neverAborted: AbortSignal = new AbortController().signal;
