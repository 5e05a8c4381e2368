import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { startSuite, type Suite, type SuiteOptions } from '../../test/support/suite.js';

/** What a bench body gets from {@link runBench}. */
export interface BenchContext {
  /** Registers a clean-up step; steps run last-registered first, on success, failure, Ctrl-C or deadline. */
  defer(step: () => Promise<unknown> | unknown): void;
  /** Starts the apps (test/support/suite) on a Redis prefix of this run; deleted at the end. */
  startSuite(opts?: SuiteOptions): Promise<Suite>;
  /** Prints a progress line to stderr (stdout carries the results). */
  step(message: string): void;
}

/**
 * Runs one bench: prints the machine, runs `body`, then cleans up (apps stopped, Redis keys of the
 * run deleted) and exits. The process ends by itself after `deadlineS` whatever happens, so a
 * hung run never outlives its budget.
 */
export function runBench(name: string, opts: { deadlineS: number }, body: (ctx: BenchContext) => Promise<void>): void {
  const steps: Array<() => Promise<unknown> | unknown> = [];
  const suites: Suite[] = [];
  const startedMs = Date.now();
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of steps.reverse()) {
        try {
          await step();
        } catch (err) {
          console.error(`clean-up step failed: ${String(err)}`);
        }
      }
    })());
  const exit = (code: number): void => {
    void cleanUp().then(() => process.exit(code));
  };
  const ctx: BenchContext = {
    defer: (step) => steps.push(step),
    step: (message) => console.error(`[${name} +${((Date.now() - startedMs) / 1000).toFixed(0)}s] ${message}`),
    startSuite: async (suiteOpts = {}) => {
      // Our own prefix (not the suite's e2e-*), so leftovers of a bench are recognisable.
      const suite = await startSuite({ prefix: `bench-${name}-${randomUUID().slice(0, 8)}`, ...suiteOpts, ...profiling(suiteOpts) });
      suites.push(suite);
      ctx.defer(() => suite.stop());
      return suite;
    },
  };
  const deadline = setTimeout(() => {
    console.error(`${name}: still running after ${opts.deadlineS} s; stopping`);
    exit(3);
  }, opts.deadlineS * 1000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exit(130));
  console.log(`bench ${name}: node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  body(ctx).then(
    () => exit(0),
    (err: unknown) => {
      console.error(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      for (const suite of suites) console.error(suite.logs());
      exit(1);
    },
  );
}

/**
 * BENCH_PROFILE_DIR=<dir>: every app of the bench's suites runs with the profiling preload
 * (cpu-profile.cjs) and writes `<dir>/<app>-<pid>.cpuprofile` when it stops.
 */
export function profiling(opts: SuiteOptions): Pick<SuiteOptions, 'env'> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return {};
  return { env: { ...opts.env, NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile.cjs')}`, CPU_PROFILE_DIR: dir } };
}
