import { isOnCanary, ReleaseRouter, SuccessRateRouter } from '@app/routing';
import { FakeClock } from './testing.fake-clock.js';

function setup() {
  const clock = new FakeClock();
  const created: string[] = [];
  const router = new ReleaseRouter(['s1', 's2', 'c1'], (release, endpoints, mayEjectAll) => {
    created.push(release);
    return new SuccessRateRouter(endpoints, { name: `delivery/${release}`, clock, mayEjectAll });
  }, { name: 'delivery' });
  router.setReleases([['c1', 'canary-1']]);
  return { clock, router, created };
}
const users = Array.from({ length: 2_000 }, (_, i) => `u${i}`);

describe('ReleaseRouter', () => {
  it('groups instances by the release they report (unknown: stable)', () => {
    const { router } = setup();
    expect(router.releasesSeen().sort()).toEqual(['canary-1', 'stable']);
    expect(router.releaseOf('s1')).toBe('stable');
    expect(router.snapshot().map((s) => [s.endpoint, s.release])).toEqual([['s1', 'stable'], ['s2', 'stable'], ['c1', 'canary-1']]);
  });

  it('without a rollout every call goes to stable, with or without a user', () => {
    const { router } = setup();
    for (const user of users.slice(0, 200)) expect(router.releaseOf(router.pick(undefined, user))).toBe('stable');
    expect(router.releaseOf(router.pick())).toBe('stable');
  });

  it('sends exactly the users whose bucket is under the weight to the canary, and calls without a user to stable', () => {
    const { router } = setup();
    router.setRollout({ stable: 'stable', canary: 'canary-1', weightPct: 20, salt: 'x' });
    for (const user of users) {
      const release = router.releaseOf(router.pick(undefined, user));
      expect(release).toBe(isOnCanary(user, 'x', 20) ? 'canary-1' : 'stable');
    }
    for (let i = 0; i < 50; i++) expect(router.pick()).not.toBe('c1');
  });

  it('keeps ejection within a group: a failing canary instance falls back to stable, counted', () => {
    const { router } = setup();
    router.setRollout({ stable: 'stable', canary: 'canary-1', weightPct: 100, salt: 'x' });
    expect(router.pick(undefined, 'u1')).toBe('c1');
    router.report('c1', 'transport', 1, true); // refused connect: ejected at once
    expect(router.snapshot().find((s) => s.endpoint === 'c1')!.state).toBe('ejected');
    expect(['s1', 's2']).toContain(router.pick(undefined, 'u1'));
    expect(router.fallbacks.get('canary-1')).toBe(1);
    // The stable group's own ejection rule still applies inside it (max share per group, not across).
    router.report('s1', 'transport', 1, true);
    expect(router.snapshot().find((s) => s.endpoint === 's1')!.state).toBe('ejected');
    expect(router.pick(undefined, 'u2')).toBe('s2');
  });

  it('probes each group: an ejected canary instance comes back through its own group', () => {
    const { router, clock } = setup();
    router.report('c1', 'transport', 1, true);
    clock.tick(5_000);
    expect(router.probeTargets()).toEqual(['c1']);
    for (let i = 0; i < 3; i++) router.reportProbe('c1', true);
    expect(router.snapshot().find((s) => s.endpoint === 'c1')!.state).toBe('healthy');
  });

  it('moves an instance whose release changes, and drops removed instances with their release', () => {
    const { router } = setup();
    router.setReleases([['s2', 'canary-1']]);
    expect(router.snapshot().filter((s) => s.release === 'canary-1').map((s) => s.endpoint).sort()).toEqual(['c1', 's2']);
    router.setEndpoints(['s1', 's2']);
    expect(router.releasesSeen().sort()).toEqual(['canary-1', 'stable']);
    router.setEndpoints(['s1']);
    expect(router.releasesSeen()).toEqual(['stable']);
  });

  it('after promotion the canary label is stable: calls without a user go there', () => {
    const { router } = setup();
    router.setRollout({ stable: 'canary-1', weightPct: 0, salt: 'x' });
    for (let i = 0; i < 20; i++) expect(router.pick()).toBe('c1');
  });

  it('keeps the last instance of the only group in, as without releases (readiness needs one)', () => {
    const { router } = setup();
    router.setEndpoints(['c1']); // only canary-1 instances left, and no stable group to fall back to
    router.report('c1', 'transport', 1, true);
    expect(router.snapshot()[0].state).toBe('healthy');
  });
});
