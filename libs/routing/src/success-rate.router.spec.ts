import { NoHealthyEndpointError, SuccessRateRouter, type EjectedEvent, type ReadmittedEvent, type SuccessRateRouterOptions } from '@app/routing';
import { FakeClock } from './testing.fake-clock.js';

/** A deterministic random source cycling through the given values. */
const cycle = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

function setup(endpoints = ['a', 'b', 'c'], options: SuccessRateRouterOptions = {}) {
  const clock = new FakeClock();
  const router = new SuccessRateRouter(endpoints, { name: 'query', clock, ...options });
  const ejected: EjectedEvent<string>[] = [];
  const readmitted: ReadmittedEvent<string>[] = [];
  router.onEjected((e) => ejected.push(e));
  router.onReadmitted((e) => readmitted.push(e));
  const state = (endpoint: string) => router.snapshot().find((s) => s.endpoint === endpoint)!;
  /** Calls `endpoint` directly (as if picked) `n` times with this outcome. */
  const calls = (endpoint: string, n: number, outcome: 'success' | 'timeout' | 'transport' = 'success', latencyMs = 5) => {
    for (let i = 0; i < n; i++) router.report(endpoint, outcome, latencyMs);
  };
  return { clock, router, ejected, readmitted, state, calls };
}

describe('SuccessRateRouter', () => {
  describe('ejection', () => {
    it('ejects after 5 consecutive failures and routes around the instance', () => {
      const { router, ejected, state, calls } = setup();
      calls('a', 4, 'timeout');
      expect(state('a').state).toBe('healthy');
      calls('a', 1, 'timeout');
      expect(state('a')).toMatchObject({ state: 'ejected', ejections: 1, ejectedForMs: 5_000 });
      expect(ejected).toEqual([expect.objectContaining({ service: 'query', endpoint: 'a', reason: 'consecutive-failures', ejectedForMs: 5_000 })]);
      const picks = new Set(Array.from({ length: 50 }, () => router.pick()));
      expect(picks).toEqual(new Set(['b', 'c']));
    });

    it('ejects on a refused connection at once', () => {
      const { router, state } = setup();
      router.report('b', 'transport', 1, true);
      expect(state('b').state).toBe('ejected');
    });

    it('ejects below 50% success once the window holds 10 calls', () => {
      const { state, calls } = setup();
      // Alternating: never 5 failures in a row, rate 0.5 -> kept; then one more failure tips it.
      for (let i = 0; i < 5; i++) {
        calls('a', 1, 'success');
        calls('a', 1, 'timeout');
      }
      expect(state('a')).toMatchObject({ state: 'healthy', requests: 10, successRate: 0.5 });
      calls('a', 1, 'timeout');
      expect(state('a').state).toBe('ejected');
    });

    it('does not judge the rate below the minimum volume', () => {
      const { state, calls } = setup();
      calls('a', 1, 'success');
      calls('a', 4, 'timeout');
      calls('a', 1, 'success');
      calls('a', 3, 'timeout');
      expect(state('a')).toMatchObject({ state: 'healthy', requests: 9 });
    });

    it('forgets failures that slid out of the window', () => {
      const { clock, state, calls } = setup(['a', 'b'], { windowMs: 10_000, buckets: 10 });
      for (let i = 0; i < 3; i++) {
        calls('a', 2, 'timeout');
        calls('a', 1, 'success');
      }
      clock.tick(10_000);
      calls('a', 9, 'success');
      calls('a', 2, 'timeout');
      expect(state('a')).toMatchObject({ state: 'healthy', requests: 11 });
    });

    it('never takes out more than half of the instances, and always keeps one', () => {
      const { state, calls, ejected } = setup(['a', 'b', 'c', 'd']);
      for (const e of ['a', 'b', 'c', 'd']) calls(e, 5, 'timeout');
      expect(['a', 'b', 'c', 'd'].map((e) => state(e).state)).toEqual(['ejected', 'ejected', 'healthy', 'healthy']);
      expect(ejected).toHaveLength(2);
      const single = setup(['only']);
      single.calls('only', 50, 'timeout');
      expect(single.state('only').state).toBe('healthy');
      expect(single.router.pick()).toBe('only');
    });

    it('counts business errors as successes (the caller reports them as success)', () => {
      const { state, calls } = setup();
      calls('a', 20, 'success');
      expect(state('a')).toMatchObject({ state: 'healthy', successRate: 1 });
    });
  });

  describe('probing and readmission (active)', () => {
    it('probes after the ejection time, readmits after 3 good probes with a clean window', () => {
      const { clock, router, state, calls, readmitted } = setup();
      calls('a', 5, 'timeout');
      clock.tick(4_999);
      expect(router.probeTargets()).toEqual([]);
      expect(state('a')).toMatchObject({ state: 'ejected', ejectedForMs: 1 });
      clock.tick(1);
      expect(state('a').state).toBe('probing');
      // A probing instance gets no user traffic in active mode.
      expect(new Set(Array.from({ length: 30 }, () => router.pick()))).toEqual(new Set(['b', 'c']));
      for (let i = 0; i < 3; i++) {
        expect(router.probeTargets()).toEqual(['a']);
        expect(router.probeTargets()).toEqual([]); // one probe at a time
        router.reportProbe('a', true);
      }
      expect(state('a')).toMatchObject({ state: 'healthy', requests: 0, successRate: 1, ejections: 1 });
      expect(readmitted).toEqual([{ service: 'query', endpoint: 'a', probeSuccesses: 3 }]);
    });

    it('ejects again for longer when a probe fails, growing base x n up to the cap', () => {
      const { clock, router, state, calls, ejected } = setup(['a', 'b', 'c'], { maxEjectionMs: 20_000 });
      calls('a', 5, 'timeout');
      const lengths = [state('a').ejectedForMs];
      for (let i = 0; i < 5; i++) {
        clock.tick(lengths[lengths.length - 1]!);
        router.probeTargets();
        router.reportProbe('a', true);
        router.probeTargets();
        router.reportProbe('a', false);
        lengths.push(state('a').ejectedForMs);
      }
      expect(lengths).toEqual([5_000, 10_000, 15_000, 20_000, 20_000, 20_000]);
      expect(ejected.slice(1).every((e) => e.reason === 'probe-failed')).toBe(true);
      expect(state('a').ejections).toBe(6);
    });

    it('forgives consecutive ejections after staying healthy', () => {
      const { clock, router, state, calls } = setup();
      const readmit = () => {
        clock.tick(state('a').ejectedForMs!);
        for (let i = 0; i < 3; i++) {
          router.probeTargets();
          router.reportProbe('a', true);
        }
      };
      calls('a', 5, 'timeout');
      readmit();
      calls('a', 5, 'timeout');
      expect(state('a').ejectedForMs).toBe(10_000); // second in a row
      readmit();
      clock.tick(10_000); // healthy for two base times: both forgiven
      calls('a', 5, 'timeout');
      expect(state('a').ejectedForMs).toBe(5_000);
    });

    it('ignores late answers from an ejected instance', () => {
      const { state, calls } = setup();
      calls('a', 5, 'timeout');
      calls('a', 10, 'success');
      expect(state('a').state).toBe('ejected');
    });
  });

  describe('probing (trickle)', () => {
    it('sends one user request at a time to a probing instance and readmits after 3 successes', () => {
      const { clock, router, state, calls } = setup(['a', 'b', 'c'], { probeMode: 'trickle' });
      calls('a', 5, 'timeout');
      clock.tick(5_000);
      expect(router.probeTargets()).toEqual([]);
      for (let i = 0; i < 3; i++) {
        expect(router.pick()).toBe('a');
        expect(router.pick()).not.toBe('a'); // its trickle request is still out
        router.report('a', 'success', 3);
      }
      expect(state('a').state).toBe('healthy');
    });

    it('ejects again when the trickle request fails', () => {
      const { clock, router, state, calls } = setup(['a', 'b', 'c'], { probeMode: 'trickle' });
      calls('a', 5, 'timeout');
      clock.tick(5_000);
      expect(router.pick()).toBe('a');
      router.report('a', 'timeout', 300);
      expect(state('a')).toMatchObject({ state: 'ejected', ejectedForMs: 10_000 });
    });
  });

  describe('choice among healthy instances', () => {
    it('prefers the instance with fewer calls in flight', () => {
      const { router } = setup(['a', 'b'], { random: cycle([0, 0]) });
      expect(router.pick()).toBe('a');
      expect(router.pick()).toBe('b'); // a has one in flight
      expect(router.pick()).toBe('a');
    });

    it('weights traffic away from slow and from failing instances', () => {
      const { router, calls } = setup(['fast', 'slow', 'flaky']);
      calls('fast', 20, 'success', 5);
      calls('slow', 20, 'success', 80);
      for (let i = 0; i < 10; i++) {
        calls('flaky', 3, 'success', 5);
        calls('flaky', 1, 'timeout', 5);
      }
      const counts: Record<string, number> = { fast: 0, slow: 0, flaky: 0 };
      for (let i = 0; i < 3_000; i++) {
        const e = router.pick();
        counts[e]++;
        router.report(e, 'success', e === 'slow' ? 80 : 5);
      }
      expect(counts.fast).toBeGreaterThan(counts.slow * 3);
      expect(counts.fast).toBeGreaterThan(counts.flaky * 1.2);
    });

    it('still sends some traffic to a slow instance when the others are busy', () => {
      const { router, calls } = setup(['fast', 'slow', 'other']);
      calls('slow', 20, 'success', 80);
      const counts: Record<string, number> = { fast: 0, slow: 0, other: 0 };
      const outstanding: string[] = [];
      for (let i = 0; i < 3_000; i++) {
        const e = router.pick();
        counts[e]++;
        outstanding.push(e);
        // 20 calls in flight: the oldest one ends each time a new one starts.
        if (outstanding.length > 20) {
          const done = outstanding.shift()!;
          router.report(done, 'success', done === 'slow' ? 80 : 5);
        }
      }
      expect(counts.slow).toBeGreaterThan(0);
      expect(counts.slow).toBeLessThan(counts.fast / 2);
    });

    it('does not herd onto an instance that is only a few ms faster when calls overlap', () => {
      // 20 calls in flight; a answers in 4 ms, b in 6 ms: both are healthy and nearly equal, so
      // both must keep a fair share (a raw latency factor sent almost everything to a).
      const { router } = setup(['a', 'b']);
      const counts: Record<string, number> = { a: 0, b: 0 };
      const outstanding: string[] = [];
      for (let i = 0; i < 4_000; i++) {
        const e = router.pick();
        counts[e]++;
        outstanding.push(e);
        if (outstanding.length > 20) {
          const done = outstanding.shift()!;
          router.report(done, 'success', done === 'a' ? 4 : 6);
        }
      }
      expect(counts.b).toBeGreaterThan(counts.a * 0.8);
    });

    it('spreads evenly over equal instances', () => {
      const { router } = setup(['a', 'b', 'c']);
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      for (let i = 0; i < 3_000; i++) {
        const e = router.pick();
        counts[e]++;
        router.report(e, 'success', 5);
      }
      for (const n of Object.values(counts)) expect(n).toBeGreaterThan(800);
    });

    it('honours exclude and throws NoHealthyEndpointError when nothing is left', () => {
      const { router } = setup(['a', 'b'], { name: 'query' });
      expect(router.pick(new Set(['a']))).toBe('b');
      expect(() => router.pick(new Set(['a', 'b']))).toThrow(NoHealthyEndpointError);
      expect(() => new SuccessRateRouter<string>([]).pick()).toThrow(NoHealthyEndpointError);
    });

    it('picks a non-healthy instance rather than none when no healthy one is left (panic)', () => {
      const { router, calls } = setup(['a', 'b']);
      calls('a', 5, 'timeout');
      router.setEndpoints(['a']);
      expect(router.pick()).toBe('a');
    });
  });

  describe('discovery', () => {
    it('adds new instances as healthy and keeps the state of known ones', () => {
      const { router, state, calls } = setup(['a', 'b', 'c']);
      calls('a', 5, 'timeout');
      router.setEndpoints(['a', 'b', 'c', 'd', 'd']);
      expect(router.endpoints()).toEqual(['a', 'b', 'c', 'd']);
      expect(state('a').state).toBe('ejected');
      expect(state('d').state).toBe('healthy');
    });

    it('forgets removed instances and ignores their late reports', () => {
      const { router } = setup(['a', 'b']);
      router.setEndpoints(['b']);
      router.report('a', 'timeout', 1);
      expect(router.snapshot().map((s) => s.endpoint)).toEqual(['b']);
      expect(router.pick()).toBe('b');
    });
  });
});
