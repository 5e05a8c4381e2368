import { runTorture } from '../torture/run-torture.js';

// The torture checker (test/torture) for fixed seeds: a whole deployment of real processes under a
// seeded schedule of claims, process/Redis/provider/PostgreSQL faults, flag flips and operator actions,
// an activity that ends and is retired mid-run with claims coming back to its keys, then invariants
// a-i checked after quiescence. A failure prints the seed (replay with
// `npm run torture -- --seed N --minutes 1`), the violations and the trace of offending orders.
const SEEDS = [1, 2, 3];
const MINUTES = 1;

jest.setTimeout(170_000);

describe('torture checker (fixed seeds)', () => {
  it.each(SEEDS)('seed %i: no invariant violated', async (seed) => {
    const report = await runTorture({ seed, minutes: MINUTES, quiesceMs: 30_000, log: () => undefined });
    if (!report.ok) {
      throw new Error(`torture seed ${seed} failed (replay: npm run torture -- --seed ${seed} --minutes ${MINUTES})\n${report.text}`);
    }
    expect(report.claims).toBeGreaterThan(100);
    expect(report.faults).toBeGreaterThan(5);
    // The archive's paths ran: the short activity's orders left Redis, and claims came back to their keys.
    expect(report.retired).toBeGreaterThan(0);
    expect(report.revisits).toBeGreaterThan(0);
  });
});
