import { promoteBody, releaseBody } from './admin-releases.controller.js';

describe('gray release admin bodies', () => {
  const ok = { canary: 'canary-1', weightPct: 20, reason: 'new client' };
  const issues = (body: unknown) => releaseBody.safeParse(body).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('takes a canary, a weight of 0-100 with at most two decimals, a reason, and rising steps', () => {
    expect(issues(ok)).toEqual([]);
    expect(issues({ ...ok, weightPct: 12.34, steps: [{ weightPct: 50, afterS: 60 }, { weightPct: 100, afterS: 600 }] })).toEqual([]);
  });

  it('refuses what the router could not honour, naming the field', () => {
    expect(issues({ ...ok, weightPct: 100.5 })[0]).toMatch(/^weightPct/);
    expect(issues({ ...ok, weightPct: 12.345 })[0]).toMatch(/^weightPct: at most two decimals/);
    expect(issues({ ...ok, canary: 'has space' })[0]).toMatch(/^canary/);
    expect(issues({ ...ok, reason: ' ' })[0]).toMatch(/^reason/);
    expect(issues({ ...ok, extra: 1 })).toHaveLength(1);
    expect(issues({ ...ok, steps: [{ weightPct: 10, afterS: 60 }] })).toEqual(['steps.0.weightPct: must be above the weight before it (20)']);
    expect(issues({ ...ok, steps: [{ weightPct: 50, afterS: 5 }] })[0]).toMatch(/^steps.0.afterS/);
  });

  it('promote takes an optional reason only', () => {
    expect(promoteBody.safeParse(undefined).success).toBe(true);
    expect(promoteBody.safeParse({ reason: 'clean' }).success).toBe(true);
    expect(promoteBody.safeParse({ reason: 'x', force: true }).success).toBe(false);
  });
});
