import { AppError, ErrorCode } from '@app/contracts';
import { CircuitOpenError } from '../errors/circuit-open.error.js';
import { TimeoutError } from '../errors/timeout.error.js';
import { GraphDefinitionError } from './graph-definition.error.js';
import { defineLoadGraph } from './load-graph.js';

/** Resolves `value` after `ms` of (fake) time. */
const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));
const never = (): Promise<never> => new Promise(() => undefined);

/** Settles `promise` while advancing fake time by `ms`, and reports when it settled. */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; atMs: number }> {
  const startMs = Date.now();
  let outcome: { value?: T; error?: unknown; atMs?: number } = {};
  promise.then(
    (value) => (outcome = { value, atMs: Date.now() - startMs }),
    (error: unknown) => (outcome = { error, atMs: Date.now() - startMs }),
  );
  await jest.advanceTimersByTimeAsync(ms);
  if (outcome.atMs === undefined) throw new Error(`not settled within ${ms} ms`);
  return outcome as { value?: T; error?: unknown; atMs: number };
}

type Page = { a: string; b: string; c: string; d: string };

describe('load graph', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  describe('running', () => {
    /** a (100 ms) and b (100 ms) have no dependencies; c (50 ms) needs both; d (30 ms) needs c. */
    const page = (log: string[] = []) =>
      defineLoadGraph<Page>('page')
        .step('d', { timeout: 'slow', isEssential: true, dependsOn: ['c'], run: ({ deps }) => (log.push('d'), after(30, `${deps.c}>d`)) })
        .step('c', { timeout: 'slow', isEssential: true, dependsOn: ['a', 'b'], run: ({ deps }) => (log.push('c'), after(50, `${deps.a}+${deps.b}>c`)) })
        .step('a', { timeout: 'slow', isEssential: true, run: () => (log.push('a'), after(100, 'a')) })
        .step('b', { timeout: 'slow', isEssential: true, run: () => (log.push('b'), after(100, 'b')) })
        .build();

    it('starts a step only when its dependencies are done, and passes their values', async () => {
      const log: string[] = [];
      const { value } = await settleWithin(page(log).run(), 1_000);
      expect(log).toEqual(['a', 'b', 'c', 'd']);
      expect(value!.get('d')).toBe('a+b>c>d');
      expect(value!.degraded).toEqual([]);
    });

    it('runs independent steps in parallel: the run takes the longest chain, not the sum', async () => {
      const { value, atMs } = await settleWithin(page().run(), 1_000);
      const startOf = Object.fromEntries(value!.timings.map((t) => [t.name, t.startMs]));
      expect(startOf).toEqual({ a: 0, b: 0, c: 100, d: 150 });
      expect(atMs).toBe(180); // a|b 100 + c 50 + d 30; serial would be 280
      expect(value!.totalMs).toBe(180);
    });

    it('runs one step at a time, in dependency order, with maxConcurrent 1', async () => {
      const { value, atMs } = await settleWithin(page().run(undefined, { maxConcurrent: 1 }), 1_000);
      expect(value!.timings.map((t) => [t.name, t.startMs])).toEqual([['a', 0], ['b', 100], ['c', 200], ['d', 250]]);
      expect(atMs).toBe(280);
    });

    it('bounds concurrency: with 2 slots, 4 independent 100 ms steps take 200 ms', async () => {
      const graph = defineLoadGraph<Page>('wide')
        .step('a', { timeout: 'slow', isEssential: true, run: () => after(100, 'a') })
        .step('b', { timeout: 'slow', isEssential: true, run: () => after(100, 'b') })
        .step('c', { timeout: 'slow', isEssential: true, run: () => after(100, 'c') })
        .step('d', { timeout: 'slow', isEssential: true, run: () => after(100, 'd') })
        .build();
      const { value, atMs } = await settleWithin(graph.run(undefined, { maxConcurrent: 2 }), 1_000);
      expect(atMs).toBe(200);
      expect(value!.timings.map((t) => t.startMs)).toEqual([0, 0, 100, 100]);
    });

    it('fetches a shared call once per run, however many steps ask for it, and again in the next run', async () => {
      const fetchOrders = jest.fn(() => after(40, ['o1', 'o2']));
      const graph = defineLoadGraph<{ count: number; latest: string; first: string }, { userId: string }>('memo')
        .step('count', { timeout: 'fast', isEssential: true, run: async ({ once, input }) => (await once(`orders:${input.userId}`, fetchOrders)).length })
        .step('latest', { timeout: 'fast', isEssential: true, run: async ({ once, input }) => (await once(`orders:${input.userId}`, fetchOrders))[0] })
        .step('first', { timeout: 'fast', isEssential: true, dependsOn: ['count'], run: async ({ once }) => (await once('orders:u1', fetchOrders))[1] })
        .build();
      const { value } = await settleWithin(graph.run({ userId: 'u1' }), 1_000);
      expect(value!.values).toEqual({ count: 2, latest: 'o1', first: 'o2' });
      expect(fetchOrders).toHaveBeenCalledTimes(1);
      await settleWithin(graph.run({ userId: 'u1' }), 1_000);
      expect(fetchOrders).toHaveBeenCalledTimes(2);
    });

    it('reports each step as it settles', async () => {
      const onStep = jest.fn();
      await settleWithin(page().run(undefined, { onStep }), 1_000);
      expect(onStep.mock.calls.map(([t]) => `${t.name}:${t.outcome}:${t.durationMs}`)).toEqual(['a:ok:100', 'b:ok:100', 'c:ok:50', 'd:ok:30']);
    });
  });

  describe('failures', () => {
    type Overview = { activities: string[]; orders: string[]; eligibility: string; recommendations: string[]; picks: string };
    const overview = (recommendations: () => Promise<string[]>, opts: { orders?: () => Promise<string[]> } = {}) => {
      const signals: Record<string, AbortSignal> = {};
      const graph = defineLoadGraph<Overview>('overview')
        .step('activities', { timeout: 'fast', isEssential: true, run: ({ signal }) => ((signals.activities = signal), after(20, ['act1'])) })
        .step('orders', { timeout: 'fast', isEssential: true, run: ({ signal }) => ((signals.orders = signal), (opts.orders ?? (() => after(30, ['o1'])))()) })
        .step('eligibility', {
          timeout: 'fast', isEssential: true, dependsOn: ['activities', 'orders'],
          run: ({ deps }) => `${deps.activities.length} activities, ${deps.orders.length} orders`,
        })
        .step('recommendations', { timeout: 'fast', isEssential: false, run: ({ signal }) => ((signals.recommendations = signal), recommendations()) })
        .step('picks', { timeout: 'fast', isEssential: false, dependsOn: ['recommendations', 'eligibility'], run: ({ deps }) => deps.recommendations.join() })
        .build({ timeouts: { fast: 300 } });
      return { graph, signals };
    };

    it('times out a hung non-essential branch at its class budget and leaves it out, with its dependents', async () => {
      const { graph, signals } = overview(never);
      const { value, atMs } = await settleWithin(graph.run(), 1_000);
      expect(atMs).toBe(300);
      expect(value!.degraded).toEqual(['recommendations', 'picks']);
      expect(value!.errors.recommendations).toBeInstanceOf(TimeoutError);
      expect(signals.recommendations.aborted).toBe(true);
      expect(value!.get('eligibility')).toBe('1 activities, 1 orders');
      expect(value!.has('recommendations')).toBe(false);
      expect(() => value!.get('picks')).toThrow(/degraded: recommendations, picks/);
      expect(value!.timings.find((t) => t.name === 'recommendations')!.outcome).toBe('timeout');
      expect(value!.timings.find((t) => t.name === 'picks')!.outcome).toBe('skipped');
    });

    it('leaves out a non-essential step whose breaker is open, without waiting', async () => {
      const { graph } = overview(() => Promise.reject(new CircuitOpenError('query')));
      const { value, atMs } = await settleWithin(graph.run(), 1_000);
      expect(atMs).toBe(30);
      expect(value!.degraded).toEqual(['recommendations', 'picks']);
      expect(value!.errors.recommendations).toBeInstanceOf(CircuitOpenError);
    });

    it('keeps a non-essential step when it answers in time', async () => {
      const { graph } = overview(() => after(50, ['g1', 'g2']));
      const { value } = await settleWithin(graph.run(), 1_000);
      expect(value!.degraded).toEqual([]);
      expect(value!.get('picks')).toBe('g1,g2');
    });

    it('fails the run with the error of an essential step, and aborts the steps still running', async () => {
      const notFound = new AppError(ErrorCode.NotFound, 'user has no profile');
      const { graph, signals } = overview(never, { orders: () => after(10, undefined).then(() => Promise.reject(notFound)) });
      const { error, atMs } = await settleWithin(graph.run(), 1_000);
      expect(error).toBe(notFound);
      expect(atMs).toBe(10);
      expect(signals.recommendations.aborted).toBe(true);
      expect(signals.activities.aborted).toBe(true);
    });

    it('fails the run when an essential step times out (RES_TIMEOUT: 503 at the edge)', async () => {
      const { graph } = overview(() => after(10, []), { orders: never });
      const { error, atMs } = await settleWithin(graph.run(), 1_000);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).code).toBe(ErrorCode.UpstreamTimeout);
      expect(atMs).toBe(300);
    });

    it('stops when the caller aborts', async () => {
      const { graph, signals } = overview(never);
      const caller = new AbortController();
      const run = graph.run(undefined, { signal: caller.signal });
      setTimeout(() => caller.abort(new Error('client went away')), 5);
      const { error, atMs } = await settleWithin(run, 1_000);
      expect(String(error)).toContain('client went away');
      expect(atMs).toBe(5);
      expect(signals.orders.aborted).toBe(true);
    });
  });

  describe('definition', () => {
    const ok = () => Promise.resolve('x');

    it('rejects a cycle at build time, naming its path', () => {
      const builder = defineLoadGraph<Page>('cyclic')
        .step('a', { timeout: 'fast', isEssential: true, dependsOn: ['c'], run: ok })
        .step('b', { timeout: 'fast', isEssential: true, dependsOn: ['a'], run: ok })
        .step('c', { timeout: 'fast', isEssential: true, dependsOn: ['b'], run: ok })
        .step('d', { timeout: 'fast', isEssential: true, run: ok });
      expect(() => builder.build()).toThrow(GraphDefinitionError);
      expect(() => builder.build()).toThrow('Invalid load graph "cyclic": dependency cycle: a -> c -> b -> a');
    });

    it('rejects a step that depends on itself', () => {
      const builder = defineLoadGraph<Page>('self').step('a', { timeout: 'fast', isEssential: true, dependsOn: ['a'], run: ok });
      expect(() => builder.build()).toThrow('dependency cycle: a -> a');
    });

    it('lists every other problem at once: unknown dependency, duplicate, essential on non-essential, bad timeout', () => {
      const builder = defineLoadGraph<Page>('broken')
        .step('a', { timeout: 'fast', isEssential: true, dependsOn: ['x' as 'b'], run: ok })
        .step('b', { timeout: 'fast', isEssential: false, run: ok })
        .step('b', { timeout: 'fast', isEssential: false, run: ok })
        .step('c', { timeout: 'fast', isEssential: true, dependsOn: ['b'], run: ok })
        .step('d', { timeout: { ms: 0 }, isEssential: true, run: ok });
      let thrown: unknown;
      try {
        builder.build();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(GraphDefinitionError);
      expect((thrown as GraphDefinitionError).problems).toEqual([
        'step "b" is defined twice',
        'step "a" depends on unknown step "x" (steps: a, b, c, d)',
        'essential step "c" depends on non-essential step "b", which may be left out',
        'step "d" has timeout {"ms":0}: must be > 0 ms',
      ]);
    });

    it('rejects an empty graph', () => {
      expect(() => defineLoadGraph<Page>('empty').build()).toThrow('it has no steps');
    });

    it('orders steps dependencies first, otherwise as defined', () => {
      const graph = defineLoadGraph<Page>('order')
        .step('c', { timeout: 'fast', isEssential: true, dependsOn: ['b'], run: ok })
        .step('a', { timeout: 'fast', isEssential: true, run: ok })
        .step('b', { timeout: 'fast', isEssential: true, run: ok })
        .step('d', { timeout: 'fast', isEssential: true, dependsOn: ['a', 'c'], run: ok })
        .build();
      expect(graph.order).toEqual(['a', 'b', 'c', 'd']);
    });
  });
});
