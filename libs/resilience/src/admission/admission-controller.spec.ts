import { ManualClock } from '../clock.js';
import { AdmissionController } from './admission-controller.js';
import { COHORT_PERIOD_MS, COHORTS, userCohort } from './user-cohorts.js';

const fixedLimit = (limit: number) => ({ initialLimit: limit, minLimit: limit, maxLimit: limit });

describe('AdmissionController', () => {
  it('admits up to the limit and refuses the rest at once; a released slot is free again', () => {
    const clock = new ManualClock();
    const admission = new AdmissionController({ limit: fixedLimit(2), clock });
    const a = admission.tryAcquire('claim', 0);
    const b = admission.tryAcquire('claim', 0);
    expect(a.admitted && b.admitted).toBe(true);
    expect(admission.tryAcquire('claim', 0)).toEqual({ admitted: false, reason: 'limit' });
    if (a.admitted) {
      a.permit.release('ok');
      a.permit.release('ok'); // twice is once
    }
    expect(admission.snapshot().inflight).toBe(1);
    expect(admission.tryAcquire('claim', 0).admitted).toBe(true);
  });

  it('keeps headroom for claims while claims are active: reads fill only their share', () => {
    const clock = new ManualClock();
    const admission = new AdmissionController({ limit: fixedLimit(10), clock });
    admission.tryAcquire('claim', 0); // claims are active now (1 in flight)
    let reads = 0;
    while (admission.tryAcquire('read', 0).admitted) reads++;
    expect(reads).toBe(7); // 80% of 10, minus the claim in flight
    let overview = 0;
    while (admission.tryAcquire('overview', 0).admitted) overview++;
    expect(overview).toBe(0); // 60% of 10 is already taken
    let claims = 0;
    while (admission.tryAcquire('claim', 0).admitted) claims++;
    expect(claims).toBe(2); // the headroom
  });

  it('is work-conserving: with no higher class active, a class may fill the whole limit', () => {
    const clock = new ManualClock();
    const admission = new AdmissionController({ limit: fixedLimit(10), clock });
    let overview = 0;
    while (admission.tryAcquire('overview', 0).admitted) overview++;
    expect(overview).toBe(10);
  });

  it('under sustained overload sheds the same users, at once, for the hour; other users in another hour', () => {
    const clock = new ManualClock(5 * COHORT_PERIOD_MS);
    const admission = new AdmissionController({ limit: fixedLimit(50), clock });
    const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const inflight: { release(o: 'ok'): void; at: number }[] = [];
    const admittedIn = (fromMs: number, toMs: number): Set<string> => {
      const admitted = new Set<string>();
      // 5x overload: 250 arrivals per 10 ms against 50 slots held 10 ms each.
      for (let t = fromMs; t < toMs; t += 10) {
        clock.advance(10);
        while (inflight.length) inflight.pop()!.release('ok');
        for (let i = 0; i < 250; i++) {
          const user = users[(t / 10 * 250 + i) % users.length]!;
          const admission_ = admission.tryAcquire('claim', userCohort(user, clock.now(), 'salt'));
          if (admission_.admitted) {
            inflight.push({ ...admission_.permit, at: t });
            admitted.add(user);
          }
        }
      }
      return admitted;
    };
    admittedIn(0, 2000); // settle
    const first = admittedIn(2000, 12_000);
    const second = admittedIn(12_000, 22_000);
    const snapshot = admission.snapshot().classes.claim;
    expect(snapshot.admittedCohorts).toBeLessThan(COHORTS / 2);
    expect(snapshot.refusedCohort).toBeGreaterThan(snapshot.refusedLimit); // refused early, by cohort
    // The same users were admitted in both ten-second spans: at most a few cohorts at the edge differ.
    const both = [...first].filter((u) => second.has(u)).length;
    expect(both / first.size).toBeGreaterThan(0.8);
    expect(first.size).toBeLessThan(users.length * 0.6);
    // In the next hour the cohorts are drawn anew: another set of users is admitted.
    const before = new Set(first);
    clock.advance(COHORT_PERIOD_MS);
    const nextHour = admittedIn(0, 10_000);
    const overlap = [...nextHour].filter((u) => before.has(u)).length;
    expect(overlap / nextHour.size).toBeLessThan(0.8);
  });

  it('admits every cohort again once the overload is over', () => {
    const clock = new ManualClock();
    const admission = new AdmissionController({ limit: fixedLimit(1), clock });
    const held = admission.tryAcquire('claim', 0);
    for (let t = 0; t < 2000; t += 10) {
      clock.advance(10);
      for (let c = 0; c < COHORTS; c += 8) admission.tryAcquire('claim', c);
    }
    expect(admission.snapshot().classes.claim.admittedCohorts).toBeLessThan(COHORTS);
    if (held.admitted) held.permit.release('ok');
    clock.advance(1000); // nobody asked for a while
    expect(admission.snapshot().classes.claim.admittedCohorts).toBe(COHORTS);
  });
});

describe('userCohort', () => {
  it('keeps a user in one cohort for the hour, spreads users over every cohort, and redraws each hour', () => {
    const hour = 100 * COHORT_PERIOD_MS;
    expect(userCohort('u1', hour)).toBe(userCohort('u1', hour + COHORT_PERIOD_MS - 1));
    const cohorts = new Set(Array.from({ length: 5000 }, (_, i) => userCohort(`u${i}`, hour)));
    expect(cohorts.size).toBe(COHORTS);
    const moved = Array.from({ length: 1000 }, (_, i) => userCohort(`u${i}`, hour) !== userCohort(`u${i}`, hour + COHORT_PERIOD_MS)).filter(Boolean).length;
    expect(moved).toBeGreaterThan(900);
    // The deployment's secret is part of the salt: without it nobody can tell which users go first.
    const sameWithOtherSecret = Array.from({ length: 1000 }, (_, i) => userCohort(`u${i}`, hour, 'a') === userCohort(`u${i}`, hour, 'b')).filter(Boolean).length;
    expect(sameWithOtherSecret).toBeLessThan(50);
  });
});
