import type { TimeoutClassName } from '../timeout-classes.js';

/** A step's time budget: a timeout class (`fast`, `slow`: ms from the graph's options) or explicit ms. */
export type StepTimeout = TimeoutClassName | { ms: number };

/** What a step's `run` gets. */
export interface StepContext<In, Deps> {
  /** The input of this run (e.g. user id and request id). */
  readonly input: In;
  /** Results of the steps named in `dependsOn`, all present (a step only starts once they succeeded). */
  readonly deps: Deps;
  /** Aborts when the step times out, an essential step fails, or the caller aborts. Pass it to I/O. */
  readonly signal: AbortSignal;
  /**
   * Memoised call, shared by every step of this run: the first caller of `key` starts `fn`, later
   * callers get the same promise, so one upstream call is made per request however many steps need
   * it. `fn` gets the run's signal (not one step's), since the result outlives the step that started it.
   */
  once<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** One named step of a load graph. */
export interface StepDefinition<In, R, K extends keyof R, D extends keyof R> {
  /** Budget of the whole step (every call it makes), from its start. */
  timeout: StepTimeout;
  /**
   * Whether the run fails when this step fails. A non-essential step that fails, times out or is
   * rejected by an open breaker is left out of the result and named in `degraded`.
   */
  isEssential: boolean;
  /** Steps whose results this one needs; it starts as soon as all of them succeeded. Default none. */
  dependsOn?: readonly D[];
  /** Computes the step's value. */
  run(ctx: StepContext<In, Pick<R, D>>): Promise<R[K]> | R[K];
}

/** How a step ended. `skipped`: a non-essential dependency was left out, so it never started. */
export type StepOutcome = 'ok' | 'failed' | 'timeout' | 'skipped';

/** When and how one step ran, relative to the start of the run (for logs and tests). */
export interface StepTiming<K extends string = string> {
  name: K;
  outcome: StepOutcome;
  /** Start, in ms after the run started (when it would have started, for `skipped`). */
  startMs: number;
  /** Time it ran, in ms (0 for `skipped`). */
  durationMs: number;
  /** Whether the step is essential. */
  isEssential: boolean;
}
