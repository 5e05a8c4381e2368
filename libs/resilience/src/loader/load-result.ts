import type { StepTiming } from './step-definition.js';

/** What a run of a load graph produced. */
export class LoadResult<R extends Record<string, unknown>> {
  constructor(
    /** Values of the steps that succeeded. */
    readonly values: Readonly<Partial<R>>,
    /** Non-essential steps left out (failed, timed out, or skipped after a left-out dependency), in graph order. */
    readonly degraded: readonly (keyof R & string)[],
    /** Error of each failed step (not of skipped ones). */
    readonly errors: Readonly<Partial<Record<keyof R & string, unknown>>>,
    /** Every step's timing, in the order they settled. */
    readonly timings: readonly StepTiming<keyof R & string>[],
    /** Time from start to the last step settled, in ms. */
    readonly totalMs: number,
  ) {}

  /** Value of step `name`; throws if it is missing (only a degraded step can be). */
  get<K extends keyof R & string>(name: K): R[K] {
    if (!Object.hasOwn(this.values, name)) throw new Error(`step "${name}" has no value (degraded: ${this.degraded.join(', ') || 'none'})`);
    return this.values[name] as R[K];
  }

  /** Whether step `name` produced a value. */
  has(name: keyof R & string): boolean {
    return Object.hasOwn(this.values, name);
  }
}
