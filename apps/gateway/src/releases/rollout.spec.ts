import { AppError } from '@app/contracts';
import { initialRollout, isStepDue, promoted, rolledBack, routeOf, stepped, withCanary } from './rollout.js';

const now = new Date('2026-05-01T10:00:00Z');
const set = (canary: string, weightPct: number) => ({ canary, weightPct, reason: 'r', actor: 'admin:alice' });
const evidence = { at: now.toISOString(), judgedBy: 'gw', comparison: { kind: 'activity' as const, id: 'a1', canary: { requests: 8, successRate: 0, p99Ms: 5 }, stable: { requests: 40, successRate: 1, p99Ms: 5 }, verdict: 'worse-success' as const, pValue: 1e-8 } };

describe('rollout state machine', () => {
  it('starts stable with nobody on a canary', () => {
    expect(routeOf(initialRollout('delivery'))).toEqual({ stable: 'stable', canary: undefined, weightPct: 0, salt: '' });
  });

  it('keeps the salt while the same canary progresses (raising the weight only adds users); a new canary draws a new salt', () => {
    const first = withCanary(initialRollout('delivery'), set('c1', 20), now);
    expect(first).toMatchObject({ state: 'progressing', canary: 'c1', weightPct: 20, generation: 1 });
    const raised = withCanary(first, set('c1', 50), now);
    expect(raised.salt).toBe(first.salt);
    expect(raised.generation).toBe(2);
    expect(withCanary(raised, set('c2', 50), now).salt).not.toBe(first.salt);
  });

  it('a rollback routes nobody to the canary and keeps the evidence; setting it again is a new rollout', () => {
    const progressing = withCanary(initialRollout('delivery'), set('c1', 20), now);
    const back = rolledBack(progressing, evidence, now);
    expect(back).toMatchObject({ state: 'rolled-back', weightPct: 0, canary: 'c1', actor: 'release-judge', reason: 'activity a1: worse-success', rollback: evidence });
    expect(routeOf(back).canary).toBeUndefined();
    const again = withCanary(back, set('c1', 5), now);
    expect(again.state).toBe('progressing');
    expect(again.salt).not.toBe(progressing.salt);
    expect(again.rollback).toBeUndefined();
  });

  it('promote makes the canary stable; nothing to promote or a canary that is already stable is a conflict', () => {
    const p = promoted(withCanary(initialRollout('query'), set('v2', 10), now), 'admin', 'clean', now);
    expect(p).toMatchObject({ state: 'promoted', stable: 'v2', weightPct: 0 });
    expect(routeOf(p)).toMatchObject({ stable: 'v2', canary: undefined });
    expect(() => promoted(p, 'admin', 'again', now)).toThrow(AppError);
    expect(() => withCanary(p, set('v2', 10), now)).toThrow(/already the stable release/);
  });
});

describe('rollout schedule', () => {
  it('steps through the weights, each due afterS after the one before; a rollback drops the rest', () => {
    const start = withCanary(initialRollout('delivery'), { ...set('c1', 5), steps: [{ weightPct: 20, afterS: 60 }, { weightPct: 50, afterS: 120 }] }, now);
    expect(start.stepAt).toBe('2026-05-01T10:01:00.000Z');
    expect(isStepDue(start, now.getTime() + 59_000)).toBe(false);
    expect(isStepDue(start, now.getTime() + 60_000)).toBe(true);
    const at = new Date(now.getTime() + 60_000);
    const second = stepped(start, at);
    expect(second).toMatchObject({ weightPct: 20, salt: start.salt, generation: 2, actor: 'release-schedule', steps: [{ weightPct: 50, afterS: 120 }], stepAt: '2026-05-01T10:03:00.000Z' });
    const last = stepped(second, new Date(at.getTime() + 120_000));
    expect(last.weightPct).toBe(50);
    expect(last.steps).toBeUndefined();
    expect(isStepDue(last, Infinity)).toBe(false);
    const back = rolledBack(second, evidence, at);
    expect(back.steps).toBeUndefined();
    expect(isStepDue(back, Infinity)).toBe(false);
  });
});
