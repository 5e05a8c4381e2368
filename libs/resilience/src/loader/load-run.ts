import type { Clock } from '../clock.js';
import { isTimeout } from '../errors/guards.js';
import { neverAborted } from '../policy.js';
import type { CompiledStep } from './load-graph.js';
import { LoadResult } from './load-result.js';
import type { StepContext, StepTiming } from './step-definition.js';

/** Options of one `LoadGraph.run()`. */
export interface RunOptions<K extends string = string> {
  /** The caller's signal (e.g. the client went away): aborts every running step. */
  signal?: AbortSignal;
  /**
   * Steps running at once. Default unlimited. `1` runs the steps one after another in topological
   * order (what a serial implementation would do; the overview bench compares both).
   */
  maxConcurrent?: number;
  /** Called as each step settles (for per-step latency logs). */
  onStep?: (timing: StepTiming<K>) => void;
}

type State = 'waiting' | 'ready' | 'running' | 'settled';

/**
 * One execution of a graph. A step is ready when every dependency succeeded; ready steps start in
 * topological order while fewer than `maxConcurrent` run. Each step runs under its own timeout
 * policy, whose signal also follows the run's signal. An essential failure aborts the run and
 * rejects with that step's error; a non-essential one marks the step and its dependents degraded.
 */
export class LoadRun<R extends Record<string, unknown>> {
  private readonly state = new Map<string, State>();
  private readonly values: Record<string, unknown> = {};
  private readonly errors: Record<string, unknown> = {};
  private readonly degraded = new Set<string>();
  private readonly timings: StepTiming<keyof R & string>[] = [];
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly controller = new AbortController();
  private readonly maxConcurrent: number;
  private readonly startedMs: number;
  private running = 0;
  private pending: number;
  private isFinished = false;
  private resolve!: (result: LoadResult<R>) => void;
  private reject!: (err: unknown) => void;

  constructor(
    private readonly steps: ReadonlyMap<string, CompiledStep>,
    private readonly order: readonly string[],
    private readonly clock: Clock,
    private readonly input: unknown,
    private readonly options: RunOptions<keyof R & string>,
  ) {
    this.maxConcurrent = options.maxConcurrent ?? Infinity;
    if (!(this.maxConcurrent >= 1)) throw new RangeError(`maxConcurrent must be >= 1 (got ${options.maxConcurrent})`);
    this.pending = steps.size;
    this.startedMs = clock.now();
    for (const name of order) this.state.set(name, steps.get(name)!.dependsOn.length === 0 ? 'ready' : 'waiting');
  }

  start(): Promise<LoadResult<R>> {
    const promise = new Promise<LoadResult<R>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const caller = this.options.signal;
    if (caller?.aborted) {
      this.fail(caller.reason);
      return promise;
    }
    const onAbort = () => this.fail(caller!.reason);
    caller?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => caller?.removeEventListener('abort', onAbort),
      () => caller?.removeEventListener('abort', onAbort),
    );
    this.pump();
    return promise;
  }

  /** Starts ready steps, in topological order, while there is room. */
  private pump(): void {
    for (const name of this.order) {
      if (this.isFinished || this.running >= this.maxConcurrent) return;
      if (this.state.get(name) === 'ready') this.launch(this.steps.get(name)!);
    }
  }

  private launch(step: CompiledStep): void {
    this.state.set(step.name, 'running');
    this.running++;
    const startMs = this.clock.now();
    const deps: Record<string, unknown> = {};
    for (const dep of step.dependsOn) deps[dep] = this.values[dep];
    const once = this.once;
    const input = this.input;
    step.timeout
      .execute(async (policyCtx) => {
        const ctx: StepContext<unknown, Record<string, unknown>> = {
          input,
          deps,
          get signal() {
            return policyCtx.signal;
          },
          once,
        };
        return step.run(ctx);
      }, this.controller.signal)
      .then(
        (value) => this.settle(step, startMs, { value }),
        (error: unknown) => this.settle(step, startMs, { error }),
      );
  }

  private settle(step: CompiledStep, startMs: number, result: { value: unknown } | { error: unknown }): void {
    this.running--;
    if (this.isFinished) return;
    this.state.set(step.name, 'settled');
    this.pending--;
    const isOk = 'value' in result;
    this.record(step, isOk ? 'ok' : isTimeout(result.error) ? 'timeout' : 'failed', startMs, this.clock.now() - startMs);
    if (isOk) {
      this.values[step.name] = result.value;
      for (const dependent of step.dependents) {
        if (this.steps.get(dependent)!.dependsOn.every((d) => Object.hasOwn(this.values, d))) this.state.set(dependent, 'ready');
      }
    } else if (step.isEssential) {
      return this.fail(result.error);
    } else {
      this.errors[step.name] = result.error;
      this.degraded.add(step.name);
      this.skipDependents(step);
    }
    if (this.pending === 0) return this.finish();
    this.pump();
  }

  /** Dependents of a left-out step never run (they are non-essential: `build()` checks it). */
  private skipDependents(step: CompiledStep): void {
    for (const name of step.dependents) {
      if (this.state.get(name) !== 'waiting') continue;
      const dependent = this.steps.get(name)!;
      this.state.set(name, 'settled');
      this.pending--;
      this.degraded.add(name);
      this.record(dependent, 'skipped', this.clock.now(), 0);
      this.skipDependents(dependent);
    }
  }

  private record(step: CompiledStep, outcome: StepTiming['outcome'], atMs: number, durationMs: number): void {
    const timing: StepTiming<keyof R & string> = {
      name: step.name as keyof R & string,
      outcome,
      startMs: atMs - this.startedMs,
      durationMs,
      isEssential: step.isEssential,
    };
    this.timings.push(timing);
    this.options.onStep?.(timing);
  }

  private readonly once = <T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    let promise = this.memo.get(key) as Promise<T> | undefined;
    if (!promise) {
      const signal = this.controller.signal;
      promise = signal.aborted ? Promise.reject(signal.reason as unknown) : Promise.resolve().then(() => fn(signal ?? neverAborted));
      this.memo.set(key, promise);
    }
    return promise;
  };

  private finish(): void {
    this.isFinished = true;
    const degraded = this.order.filter((name) => this.degraded.has(name)) as (keyof R & string)[];
    this.resolve(new LoadResult<R>(this.values as Partial<R>, degraded, this.errors as Partial<Record<keyof R & string, unknown>>, this.timings, this.clock.now() - this.startedMs));
  }

  /** Ends the run with `err`: running steps see their signal abort; nothing else starts. */
  private fail(err: unknown): void {
    if (this.isFinished) return;
    this.isFinished = true;
    this.controller.abort(err);
    this.reject(err);
  }
}
