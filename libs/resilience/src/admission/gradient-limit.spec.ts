import { GradientLimit } from './gradient-limit.js';

/**
 * A simulated service: `capacity` calls run at `baseMs`; beyond it they queue, so latency grows with
 * in-flight calls (`baseMs × inflight / capacity`). Offered load is `demand` concurrent callers kept
 * busy (closed loop), admitted up to the limit. Each 10 ms tick every admitted caller completes
 * `10 / latency` calls (fractions carried), which the limit samples.
 */
class SimulatedService {
  nowMs = 0;
  private carry = 0;
  constructor(
    readonly limit: GradientLimit,
    public capacity: number,
    public baseMs: number,
    public demand: number,
  ) {}

  /** Runs for `ms`; returns the limit seen at each tick (outside probes only, with `steadyOnly`). */
  run(ms: number, steadyOnly = false): number[] {
    const seen: number[] = [];
    for (let t = 0; t < ms; t += 10) {
      this.nowMs += 10;
      const inflight = Math.min(this.demand, this.limit.limit);
      const latency = this.baseMs * Math.max(1, inflight / this.capacity);
      this.carry += (inflight * 10) / latency;
      while (this.carry >= 1) {
        this.carry -= 1;
        this.limit.sample(this.nowMs, latency, inflight);
      }
      if (!steadyOnly || !this.limit.isProbing) seen.push(this.limit.limit);
    }
    return seen;
  }
}

const tail = (xs: number[], n: number) => xs.slice(-n);
const max = (xs: number[]) => Math.max(...xs);
const min = (xs: number[]) => Math.min(...xs);

describe('GradientLimit', () => {
  it('converges near the capacity of an overloaded service, from below and from above', () => {
    for (const initialLimit of [10, 400]) {
      const svc = new SimulatedService(new GradientLimit({ initialLimit }), 50, 10, 500);
      const seen = svc.run(30_000);
      expect(min(tail(seen, 500))).toBeGreaterThanOrEqual(40);
      expect(max(tail(seen, 500))).toBeLessThanOrEqual(120);
    }
  });

  it('follows a latency step down within seconds and recovers when the service does', () => {
    const svc = new SimulatedService(new GradientLimit({ initialLimit: 20 }), 50, 10, 500);
    svc.run(30_000);
    const before = svc.limit.limit;
    svc.capacity = 15; // the service gets 3x slower per call at the same concurrency
    const during = svc.run(5_000);
    expect(min(tail(during, 100))).toBeLessThan(before / 2);
    expect(max(tail(during, 100))).toBeLessThanOrEqual(45);
    svc.capacity = 50;
    const after = svc.run(20_000);
    expect(min(tail(after, 100))).toBeGreaterThanOrEqual(40);
  });

  it('re-measures its baseline without collapsing: ten minutes of steady overload stay near capacity', () => {
    const svc = new SimulatedService(new GradientLimit({ initialLimit: 20 }), 50, 10, 500);
    svc.run(60_000);
    const steady = svc.run(600_000);
    // A probe halves the limit for one window (never to a floor of a few calls)...
    expect(min(steady)).toBeGreaterThanOrEqual(20);
    expect(max(steady)).toBeLessThanOrEqual(120);
    // ...and outside probes it never goes below the capacity.
    expect(min(svc.run(600_000, true))).toBeGreaterThanOrEqual(40);
  });

  it('treats a window slower than maxLatencyMs as a drop', () => {
    const svc = new SimulatedService(new GradientLimit({ initialLimit: 20, maxLatencyMs: 12 }), 50, 10, 500);
    const seen = svc.run(60_000);
    expect(max(tail(seen, 1000))).toBeLessThanOrEqual(60 + 8);
  });

  it('does not grow without bound under mild overload (demand 1.3x capacity for five minutes)', () => {
    const svc = new SimulatedService(new GradientLimit({ initialLimit: 20 }), 50, 10, 65);
    const seen = svc.run(300_000);
    expect(max(seen)).toBeLessThanOrEqual(90); // at most what is used / 0.75
    expect(max(tail(seen, 1000))).toBe(max(seen.slice(0, 30_000))); // and it stops growing early
  });

  it('leaves the limit alone while the caller does not use it (app-limited)', () => {
    const svc = new SimulatedService(new GradientLimit({ initialLimit: 100 }), 50, 10, 10);
    const seen = svc.run(60_000, true);
    expect(min(seen)).toBe(100);
    expect(max(seen)).toBe(100);
  });

  it('backs off on a window with a dropped call, never below minLimit', () => {
    const limit = new GradientLimit({ initialLimit: 100, minLimit: 5 });
    for (let t = 0; t < 100_000; t += 100) limit.sample(t, 10, 50, true);
    expect(limit.limit).toBe(5);
  });

  it('untimed calls (the caller\'s own queue made their latency) move neither the limit nor the baseline, and a running probe still ends', () => {
    const limit = new GradientLimit({ initialLimit: 100, minLimit: 10, probeIntervalMs: 5_000 });
    let t = 0;
    // A settled baseline of 10 ms, the limit in use, until a probe has just started.
    for (; t < 4_000 || !limit.isProbing; t += 1) limit.sample(t, 10, 90);
    const probed = limit.limit;
    const baseline = limit.baselineMs;
    // Then only untimed calls, 50x slower, for a minute: the probe ends (no result), nothing moves.
    let probeEndedAt = -1;
    for (const start = t; t < start + 60_000; t += 1) {
      limit.sample(t, 500, 90, false, false);
      if (probeEndedAt < 0 && !limit.isProbing) probeEndedAt = t - start;
    }
    expect(probeEndedAt).toBeGreaterThanOrEqual(0);
    expect(probeEndedAt).toBeLessThanOrEqual(1_100); // ten windows of 100 ms
    expect(limit.isProbing).toBe(false);
    expect(limit.baselineMs).toBe(baseline);
    expect(limit.limit).toBeGreaterThan(probed); // the probe's half is gone
    const after = limit.limit;
    // The same calls timed shrink it.
    for (const start = t; t < start + 6_000; t += 1) limit.sample(t, 500, 90);
    expect(limit.limit).toBeLessThan(after);
  });

  it('a drop still counts when the caller is overloaded', () => {
    const limit = new GradientLimit({ initialLimit: 100, minLimit: 5 });
    for (let t = 0; t < 100_000; t += 100) limit.sample(t, 10, 50, true, false);
    expect(limit.limit).toBe(5);
  });

  it('checks its options', () => {
    expect(() => new GradientLimit({ minLimit: 0 })).toThrow(RangeError);
    expect(() => new GradientLimit({ minLimit: 10, maxLimit: 5 })).toThrow(RangeError);
    expect(() => new GradientLimit({ tolerance: 0.5 })).toThrow(RangeError);
  });
});
