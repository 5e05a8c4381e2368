import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_TIMEOUT_CLASSES, type TimeoutClassName } from '../timeout-classes.js';
import { TimeoutPolicy } from '../timeout.policy.js';
import { GraphDefinitionError } from './graph-definition.error.js';
import { LoadRun, type RunOptions } from './load-run.js';
import type { LoadResult } from './load-result.js';
import type { StepDefinition, StepTimeout } from './step-definition.js';

/** Options of {@link LoadGraphBuilder.build}. */
export interface LoadGraphOptions {
  /** Budget of each timeout class, in ms. Default fast 300, slow 3000 (`DEFAULT_TIMEOUT_CLASSES`). */
  timeouts?: Partial<Record<TimeoutClassName, number>>;
  /** Time source of step timeouts and timings. Default the system clock (Jest fake timers drive it). */
  clock?: Clock;
}

/** A validated step, as the run executes it. */
export interface CompiledStep {
  readonly name: string;
  readonly isEssential: boolean;
  readonly dependsOn: readonly string[];
  /** Steps that depend on this one, in topological order. */
  readonly dependents: readonly string[];
  readonly timeout: TimeoutPolicy;
  readonly run: StepDefinition<unknown, Record<string, unknown>, string, string>['run'];
}

/**
 * Collects the steps of a graph. `R` maps each step name to its value type; declaring it up front
 * lets steps be written in any order with typed `deps`. `build()` checks the whole graph.
 *
 * @example
 * const graph = defineLoadGraph<{ user: User; orders: Order[]; tips: Tip[] }, { userId: string }>('page')
 *   .step('user', { timeout: 'fast', isEssential: true, run: ({ input }) => users.get(input.userId) })
 *   .step('orders', { timeout: 'fast', isEssential: true, dependsOn: ['user'], run: ({ deps }) => orders.of(deps.user) })
 *   .step('tips', { timeout: 'fast', isEssential: false, run: () => tips.list() })
 *   .build();
 * const result = await graph.run({ userId: 'u1' });  // result.degraded: ['tips'] when tips failed
 */
export class LoadGraphBuilder<R extends Record<string, unknown>, In> {
  private readonly steps = new Map<string, StepDefinition<In, R, keyof R, keyof R>>();
  private readonly duplicates: string[] = [];

  constructor(private readonly name: string) {}

  /** Adds step `name`; `dependsOn` may name steps added before or after it. */
  step<K extends keyof R & string, D extends keyof R & string = never>(name: K, definition: StepDefinition<In, R, K, D>): this {
    if (this.steps.has(name)) this.duplicates.push(name);
    this.steps.set(name, definition as unknown as StepDefinition<In, R, keyof R, keyof R>);
    return this;
  }

  /**
   * Checks the graph and freezes it.
   * @throws GraphDefinitionError listing every problem: duplicate or unknown steps, cycles (with
   *   their path), an essential step depending on a non-essential one, a timeout that is not > 0.
   */
  build(options: LoadGraphOptions = {}): LoadGraph<R, In> {
    const problems = this.duplicates.map((name) => `step "${name}" is defined twice`);
    const names = [...this.steps.keys()];
    if (names.length === 0) problems.push('it has no steps');
    const timeouts = { fast: DEFAULT_TIMEOUT_CLASSES.fast.timeoutMs, slow: DEFAULT_TIMEOUT_CLASSES.slow.timeoutMs, ...options.timeouts };
    for (const [name, step] of this.steps) {
      for (const dep of step.dependsOn ?? []) {
        const target = this.steps.get(dep as string);
        if (!target) problems.push(`step "${name}" depends on unknown step "${String(dep)}" (steps: ${names.join(', ')})`);
        else if (step.isEssential && !target.isEssential) {
          problems.push(`essential step "${name}" depends on non-essential step "${String(dep)}", which may be left out`);
        }
      }
      const ms = msOf(step.timeout, timeouts);
      if (!(ms > 0)) problems.push(`step "${name}" has timeout ${JSON.stringify(step.timeout)}: must be > 0 ms`);
    }
    const cycle = problems.length ? undefined : findCycle(this.steps);
    if (cycle) problems.push(`dependency cycle: ${cycle.join(' -> ')}`);
    if (problems.length) throw new GraphDefinitionError(this.name, problems);

    const order = topologicalOrder(this.steps);
    const clock = options.clock ?? systemClock;
    const compiled = new Map<string, CompiledStep>();
    for (const name of order) {
      const step = this.steps.get(name)!;
      compiled.set(name, Object.freeze({
        name,
        isEssential: step.isEssential,
        dependsOn: Object.freeze([...(step.dependsOn ?? [])] as string[]),
        dependents: Object.freeze(order.filter((other) => (this.steps.get(other)!.dependsOn as readonly string[] | undefined)?.includes(name))),
        timeout: new TimeoutPolicy(msOf(step.timeout, timeouts), `step ${name}`, clock),
        run: step.run as CompiledStep['run'],
      }));
    }
    return new LoadGraph<R, In>(this.name, compiled, clock);
  }
}

/**
 * A checked, immutable graph of named steps. Each `run()` is one request: steps start as soon as
 * their dependencies succeeded, so the run takes as long as its longest chain, not the sum.
 */
export class LoadGraph<R extends Record<string, unknown>, In> {
  /** Step names in a topological order (dependencies first; otherwise definition order). */
  readonly order: readonly string[];

  constructor(
    readonly name: string,
    private readonly steps: ReadonlyMap<string, CompiledStep>,
    private readonly clock: Clock,
  ) {
    this.order = Object.freeze([...steps.keys()]);
  }

  /**
   * Runs every step once for `input`.
   * @returns values of the steps that succeeded and the names of the non-essential ones left out.
   * @throws the error of the first essential step that failed (as thrown: an AppError keeps its
   *   code, so the HTTP edge answers with its status), or the caller's abort reason.
   */
  run(input: In, options: RunOptions<keyof R & string> = {}): Promise<LoadResult<R>> {
    return new LoadRun<R>(this.steps, this.order, this.clock, input, options).start();
  }
}

/** Starts the definition of a graph named `name` (used in error messages). */
export function defineLoadGraph<R extends Record<string, unknown>, In = void>(name: string): LoadGraphBuilder<R, In> {
  return new LoadGraphBuilder<R, In>(name);
}

function msOf(timeout: StepTimeout, timeouts: Record<TimeoutClassName, number>): number {
  return typeof timeout === 'string' ? timeouts[timeout] : timeout.ms;
}

type Deps = ReadonlyMap<string, { dependsOn?: readonly PropertyKey[] }>;

/** The first cycle found by depth-first search, as a path that ends where it starts; else undefined. */
function findCycle(steps: Deps): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of steps.get(name)?.dependsOn ?? []) {
      const cycle = visit(dep as string);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of steps.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Kahn's order, stable: among ready steps, the one defined first goes first. */
function topologicalOrder(steps: Deps): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < steps.size) {
    for (const [name, step] of steps) {
      if (placed.has(name) || !(step.dependsOn ?? []).every((d) => placed.has(d as string))) continue;
      order.push(name);
      placed.add(name);
      break;
    }
  }
  return order;
}
