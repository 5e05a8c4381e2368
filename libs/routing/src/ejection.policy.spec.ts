import { DEFAULT_EJECTION_OPTIONS, EjectionPolicy } from '@app/routing';

const fine = { requests: 0, successRate: 1, consecutiveFailures: 0, isConnectRefused: false };

describe('EjectionPolicy', () => {
  const policy = new EjectionPolicy();

  it('has the documented defaults', () => {
    expect(policy.options).toEqual({
      ejectBelowRate: 0.5, minRequests: 10, consecutiveFailures: 5, maxEjectionShare: 0.5,
      baseEjectionMs: 5_000, maxEjectionMs: 300_000, readmitAfterSuccesses: 3,
    });
    expect(DEFAULT_EJECTION_OPTIONS).toEqual(policy.options);
  });

  it.each([
    ['a healthy instance', {}, undefined],
    ['a refused connection, at once', { isConnectRefused: true, consecutiveFailures: 1, requests: 1 }, 'connect-refused'],
    ['4 consecutive failures', { consecutiveFailures: 4, requests: 4, successRate: 0 }, undefined],
    ['5 consecutive failures at low volume', { consecutiveFailures: 5, requests: 5, successRate: 0 }, 'consecutive-failures'],
    ['rate 0.4 over 9 calls (below min volume)', { requests: 9, successRate: 0.4, consecutiveFailures: 1 }, undefined],
    ['rate 0.4 over 10 calls', { requests: 10, successRate: 0.4, consecutiveFailures: 1 }, 'success-rate'],
    ['rate exactly 0.5 over 100 calls', { requests: 100, successRate: 0.5, consecutiveFailures: 1 }, undefined],
    ['rate 0.49 over 100 calls', { requests: 100, successRate: 0.49, consecutiveFailures: 1 }, 'success-rate'],
  ])('judges %s', (_name, evidence, reason) => {
    expect(policy.reasonToEject({ ...fine, ...evidence })).toBe(reason);
  });

  it.each([
    // [instances, already out, may eject one more]
    [1, 0, false], // the only instance is always kept
    [2, 0, true],
    [2, 1, false],
    [3, 0, true],
    [3, 1, false], // 50% of 3 is 1.5: one out at most
    [4, 1, true],
    [4, 2, false],
    [10, 4, true],
    [10, 5, false],
  ])('with %d instances and %d out, may eject another: %s', (total, out, may) => {
    expect(policy.mayEject(out, total)).toBe(may);
  });

  it('keeps one instance even with a 100% share', () => {
    const all = new EjectionPolicy({ maxEjectionShare: 1 });
    expect(all.maxOut(3)).toBe(2);
    expect(all.maxOut(1)).toBe(0);
  });

  it.each([
    [1, 5_000],
    [2, 10_000],
    [3, 15_000],
    [60, 300_000],
    [61, 300_000], // capped
  ])('lasts base x n: ejection #%d is %d ms', (n, ms) => {
    expect(policy.ejectionMs(n)).toBe(ms);
  });

  it('forgives one consecutive ejection per base time spent healthy', () => {
    expect(policy.decayedEjections(3, 4_999)).toBe(3);
    expect(policy.decayedEjections(3, 5_000)).toBe(2);
    expect(policy.decayedEjections(3, 60_000)).toBe(0);
  });

  it('readmits after K consecutive good probes', () => {
    expect([1, 2, 3].map((n) => policy.isReadmitted(n))).toEqual([false, false, true]);
    expect(new EjectionPolicy({ readmitAfterSuccesses: 1 }).isReadmitted(1)).toBe(true);
  });
});
