import type { Policy, PolicyContext } from './policy.js';
import { neverAborted } from './policy.js';

/**
 * Nests policies, outermost first, as cockatiel's `wrap()` does: `compose(a, b, c).execute(fn)`
 * runs `a.execute(() => b.execute(() => c.execute(fn)))`. Each layer's signal is passed inward, so
 * an outer abort (caller gone, timeout) reaches `fn`. The attempt number given to `fn` is the
 * highest any layer reported (only a retry layer raises it).
 *
 * Order is a decision; the usual one, and why:
 * `retry → bulkhead(class) → breaker(route) → timeout(class)`
 * - retry outermost: every attempt is admitted, counted and timed on its own; backoff holds no slot;
 * - bulkhead outside the breaker: a local rejection never reaches the breaker, so it neither counts
 *   as a failure nor passes as the half-open trial's success;
 * - breaker outside the timeout: timeouts count as failures;
 * - timeout innermost: each attempt gets its own budget, and an aggressive timeout frees the
 *   bulkhead slot when it fires even if `fn` ignores its signal.
 */
export function compose(...policies: Policy[]): Policy {
  if (policies.length === 1) return policies[0];
  return new ComposedPolicy(policies);
}

class ComposedPolicy implements Policy {
  constructor(private readonly policies: readonly Policy[]) {}

  execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal: AbortSignal = neverAborted): Promise<T> {
    return new Run(this.policies, fn).layer(0, signal);
  }
}

/** One call through the layers: a small object per call, and a closure per outer layer. */
class Run<T> {
  private attempt = 1;

  constructor(
    private readonly policies: readonly Policy[],
    private readonly fn: (ctx: PolicyContext) => Promise<T>,
  ) {}

  layer(index: number, signal: AbortSignal): Promise<T> {
    if (index === this.policies.length - 1) return this.policies[index].execute(this.innermost, signal);
    return this.policies[index].execute((ctx) => {
      if (ctx.attempt > this.attempt) this.attempt = ctx.attempt;
      return this.layer(index + 1, ctx.signal);
    }, signal);
  }

  /**
   * Hands the innermost layer's context to `fn` as it is, so a lazily created signal (the
   * timeout's) is only materialized if `fn` reads it; wraps it only to carry a higher attempt.
   */
  private readonly innermost = (ctx: PolicyContext): Promise<T> => {
    if (ctx.attempt >= this.attempt) return this.fn(ctx);
    const attempt = this.attempt;
    return this.fn({ get signal() { return ctx.signal; }, attempt });
  };
}
