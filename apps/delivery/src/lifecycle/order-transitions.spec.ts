import { type Actor, type FromStatus, findTransition, IllegalTransitionError, type LifecycleStatus, transitionFor, TRANSITIONS } from './order-transitions.js';

const FROM: FromStatus[] = ['none', 'refused', 'reserved', 'queued', 'delivering', 'delivered', 'uncertain', 'failed'];
const TO: LifecycleStatus[] = ['refused', 'reserved', 'queued', 'delivering', 'delivered', 'uncertain', 'failed'];
const ACTORS: Actor[] = ['claim', 'worker', 'sweeper', 'operator'];

// Written out independently of the table: every move that must be allowed, as `from>to:actor`.
const ALLOWED = new Set([
  'none>refused:claim', 'none>queued:claim', 'none>delivering:claim',
  'queued>delivering:worker', 'delivering>delivering:worker',
  'delivering>delivered:claim', 'delivering>delivered:worker',
  'queued>delivered:claim', 'queued>delivered:worker',
  'uncertain>delivered:claim', 'uncertain>delivered:worker', 'uncertain>delivered:operator',
  'delivering>failed:claim', 'delivering>failed:worker',
  'delivering>uncertain:claim', 'delivering>uncertain:worker', 'delivering>uncertain:sweeper',
  'delivering>queued:claim', 'delivering>queued:worker', 'delivering>queued:sweeper',
  'uncertain>failed:operator',
  'failed>queued:operator',
]);

describe('order transition table', () => {
  const cases = FROM.flatMap((from) => TO.flatMap((to) => ACTORS.map((actor) => [from, to, actor] as const)));

  it.each(cases)('%s -> %s by %s is allowed exactly when listed', (from, to, actor) => {
    const allowed = ALLOWED.has(`${from}>${to}:${actor}`);
    expect(findTransition(from, to, actor) !== undefined).toBe(allowed);
    if (allowed) expect(transitionFor(from, to, actor).to).toBe(to);
    else expect(() => transitionFor(from, to, actor)).toThrow(IllegalTransitionError);
  });

  it('never leaves a terminal status except by an operator', () => {
    for (const t of TRANSITIONS) {
      if (t.from === 'delivered' || t.from === 'refused') throw new Error(`${t.from} must be final`);
      if (t.from === 'failed') expect(t.actors).toEqual(['operator']);
    }
  });

  it('gives every unit back exactly where it must: failing releases, only a re-queue of a failed order takes one back', () => {
    for (const t of TRANSITIONS) {
      expect(t.effects.includes('release')).toBe(t.to === 'failed');
      expect(t.effects.includes('rereserve')).toBe(t.from === 'failed');
      expect(t.effects.includes('reserve')).toBe(t.from === 'none' && t.to !== 'refused');
    }
  });

  it('keeps the uncertain count in step: counted on entering uncertain, uncounted on leaving it', () => {
    for (const t of TRANSITIONS) {
      expect(t.effects.includes('countUncertain')).toBe(t.to === 'uncertain');
      expect(t.effects.includes('uncountUncertain')).toBe(t.from === 'uncertain');
    }
  });

  it('lists open orders for the reconciler and drops settled ones', () => {
    for (const t of TRANSITIONS) {
      const listed = t.effects.includes('watch') || t.effects.includes('newAttempt');
      expect(listed).toBe(t.to === 'queued' || t.to === 'delivering');
      expect(t.effects.includes('close')).toBe(['delivered', 'failed', 'uncertain'].includes(t.to));
    }
  });
});
