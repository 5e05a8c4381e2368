import { FAULT_GRACE_MS, inFlightDuringFault } from '../torture/invariants.js';

// The torture checker's own judgement (no processes): regressions of the checker, not of the product.
describe('torture checker: which 503s a fault explains', () => {
  const redisKill = [{ kind: 'redis-kill', target: 'redis', start: 3_724, end: 7_987 }];

  it('a request sent before a fault and answered during it is the fault\'s (seed 1 on a slow CI machine)', () => {
    // POST claim sent at 3.176 s, answered 503 "storage is unavailable" at 4.011 s (835 ms).
    expect(inFlightDuringFault({ t: 3_176, ms: 835 }, redisKill)).toBe(true);
  });

  it('within the grace after a fault cleared, yes; a request over before the fault or after the grace, no', () => {
    expect(inFlightDuringFault({ t: 7_987 + FAULT_GRACE_MS - 1, ms: 5 }, redisKill)).toBe(true);
    expect(inFlightDuringFault({ t: 1_000, ms: 100 }, redisKill)).toBe(false);
    expect(inFlightDuringFault({ t: 7_987 + FAULT_GRACE_MS + 1, ms: 5 }, redisKill)).toBe(false);
    expect(inFlightDuringFault({ t: 1_000, ms: 100 }, [{ kind: 'pg-down', target: 'postgres', start: 900 }])).toBe(true); // still active
  });
});
