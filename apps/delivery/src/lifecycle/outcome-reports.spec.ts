import { TRANSITIONS } from './order-transitions.js';
import { reportedOutcome } from './outcome-reports.js';

describe('reported outcomes (analytics)', () => {
  it('reports every first settlement into delivered, failed or uncertain, and no resolution of an uncertain order', () => {
    const reported = TRANSITIONS.map((t) => [t.from, t.to, reportedOutcome(t.from, t.to) ?? null]);
    for (const [from, to, outcome] of reported) {
      if (from === 'uncertain') expect(outcome).toBeNull();
      else if (to === 'delivered' || to === 'failed' || to === 'uncertain') expect(outcome).toBe(to);
      else expect(outcome).toBeNull();
    }
    expect(reported.filter(([, , o]) => o !== null).map(([f, t]) => `${f}->${t}`).sort()).toEqual(
      ['delivering->delivered', 'delivering->failed', 'delivering->uncertain', 'queued->delivered'].sort(),
    );
  });
});
