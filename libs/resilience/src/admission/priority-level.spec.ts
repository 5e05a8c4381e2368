import { ManualClock } from '../clock.js';
import { PriorityLevel } from './priority-level.js';
import { REQUEST_CLASSES, type RequestClass } from './request-class.js';
import { COHORTS } from './user-cohorts.js';

/** One 100 ms window: `perClass` requests of every class spread over all cohorts, and a queueing delay. */
function window(level: PriorityLevel, clock: ManualClock, delayMs: number, classes: readonly RequestClass[] = REQUEST_CLASSES, perClass = 256, utilization = 1, cpuShare = utilization) {
  const admitted: Record<string, number> = {};
  const admittedCohorts: Record<string, Set<number>> = {};
  level.recordLoad(delayMs, utilization, cpuShare);
  for (const cls of classes) {
    admitted[cls] = 0;
    admittedCohorts[cls] = new Set();
    for (let i = 0; i < perClass; i++) {
      const cohort = i % COHORTS;
      if (level.admits(cls, cohort)) {
        admitted[cls]++;
        admittedCohorts[cls].add(cohort);
      }
    }
  }
  clock.advance(100);
  return { admitted, admittedCohorts };
}

describe('PriorityLevel', () => {
  it('admits everything while the queueing delay stays low', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    for (let i = 0; i < 50; i++) {
      const { admitted } = window(level, clock, 2);
      expect(Object.values(admitted).every((n) => n === 256)).toBe(true);
    }
  });

  it('under overload sheds reports, then overviews, then reads, before any claim; within a class the same cohorts', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    window(level, clock, 2);
    const seen: Array<Record<string, number>> = [];
    for (let i = 0; i < 12; i++) seen.push(window(level, clock, 100).admitted);
    // Every step of the way, a class is shed only once every class below it is shed entirely.
    for (const admitted of seen) {
      for (let r = 0; r < REQUEST_CLASSES.length - 1; r++) {
        if (admitted[REQUEST_CLASSES[r]!]! < 256) expect(admitted[REQUEST_CLASSES[r + 1]!]).toBe(0);
      }
    }
    const last = seen.at(-1)!;
    expect(last.report).toBe(0);
    expect(last.overview).toBe(0);
    expect(last.claim).toBeGreaterThan(0);
    // The admitted cohorts of a partly shed class are the lowest ones: the same users, window after window.
    const { admittedCohorts } = window(level, clock, 15); // between threshold/2 and threshold: hold
    const partly = REQUEST_CLASSES.find((c) => admittedCohorts[c]!.size > 0 && admittedCohorts[c]!.size < COHORTS)!;
    const cohorts = [...admittedCohorts[partly]!].sort((a, b) => a - b);
    expect(cohorts).toEqual(cohorts.map((_, i) => i));
  });

  it('holds between half the threshold and the threshold, and grows back once the delay falls', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    window(level, clock, 2);
    expect(level.shedding).toBe(false);
    for (let i = 0; i < 6; i++) window(level, clock, 100);
    expect(level.shedding).toBe(true);
    const shedLevel = level.snapshot().level;
    for (let i = 0; i < 5; i++) window(level, clock, 15);
    expect(level.snapshot().level).toBe(shedLevel);
    let windows = 0;
    while (level.snapshot().level < REQUEST_CLASSES.length * COHORTS && windows < 100) {
      window(level, clock, 2);
      windows++;
    }
    expect(windows).toBeLessThan(100);
    expect(level.snapshot()).toMatchObject({ overloaded: false });
    expect(level.shedding).toBe(false);
  });

  it('does not shed while the process is mostly idle however late it runs (starved by others, not overloaded)', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    for (let i = 0; i < 30; i++) {
      const { admitted } = window(level, clock, 200, REQUEST_CLASSES, 256, 0.4);
      expect(Object.values(admitted).every((n) => n === 256)).toBe(true);
    }
    expect(level.snapshot()).toMatchObject({ overloaded: false, utilization: 0.4 });
  });

  it('while busy and claims are refused downstream, sheds the classes below claims, never claims; idle, it sheds nobody', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    window(level, clock, 2);
    let last: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      level.recordPressure('claim');
      last = window(level, clock, 5).admitted; // no lag of its own: the pressure alone
    }
    expect(last.claim).toBe(256);
    expect(last.status! + last.read! + last.overview! + last.report!).toBe(0);
    // Idle (a slow service refusing its own claims while this process does little): nobody else is shed.
    const idle = new PriorityLevel({ clock });
    for (let i = 0; i < 40; i++) {
      idle.recordPressure('claim');
      last = window(idle, clock, 5, REQUEST_CLASSES, 256, 0.2).admitted;
    }
    expect(Object.values(last).every((n) => n === 256)).toBe(true);
    // Pressure gone and load low: the level comes back.
    let windows = 0;
    while (level.snapshot().level < REQUEST_CLASSES.length * COHORTS && windows < 200) {
      window(level, clock, 2);
      windows++;
    }
    expect(windows).toBeLessThan(200);
  });

  it('busy but starved of CPU (shared cores): sheds every class below claims, never claims; with the CPU, claims too', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    window(level, clock, 2);
    let last: Record<string, number> = {};
    for (let i = 0; i < 40; i++) last = window(level, clock, 100, REQUEST_CLASSES, 256, 1, 0.4).admitted;
    expect(last.claim).toBe(256);
    expect(last.status! + last.read! + last.overview! + last.report!).toBe(0);
    expect(level.snapshot()).toMatchObject({ overloaded: true, starved: true, cpuShare: 0.4 });
    // The same overload with the CPU to show for it: the claims' cohorts go too.
    for (let i = 0; i < 5; i++) last = window(level, clock, 100, REQUEST_CLASSES, 256, 1, 1).admitted;
    expect(last.claim).toBeLessThan(256);
    expect(level.snapshot()).toMatchObject({ overloaded: true, starved: false, cpuShare: 1 });
    // Starved again: no further cut into claims (nor a jump back up while still overloaded).
    const cutLevel = level.snapshot().level;
    window(level, clock, 100, REQUEST_CLASSES, 256, 1, 0.4);
    expect(level.snapshot().level).toBe(cutLevel);
    // A claim storm alone on a starved process: no claim is shed by the level.
    const claimsOnly = new PriorityLevel({ clock });
    for (let i = 0; i < 20; i++) expect(window(claimsOnly, clock, 200, ['claim'], 256, 1, 0.3).admitted.claim).toBe(256);
  });

  it('holds while the process runs late with only a handful of requests (a start-up compile, not their load): the next claim of any cohort is admitted', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    for (let i = 0; i < 5; i++) expect(window(level, clock, 300, ['claim', 'read'], 3).admitted).toEqual({ claim: 3, read: 3 });
    expect(level.snapshot()).toMatchObject({ level: REQUEST_CLASSES.length * COHORTS, overloaded: false });
    for (let cohort = 0; cohort < COHORTS; cohort++) expect(level.admits('claim', cohort)).toBe(true);
    // Twenty requests a window are enough to judge: the same delay cuts.
    window(level, clock, 300, ['claim', 'read'], 10);
    expect(level.snapshot()).toMatchObject({ overloaded: true });
    expect(level.snapshot().level).toBeLessThan(REQUEST_CLASSES.length * COHORTS);
  });

  it('sheds at most a quarter a window, and never the last cohort of claims', () => {
    const clock = new ManualClock();
    const level = new PriorityLevel({ clock });
    window(level, clock, 2, ['claim']);
    const first = window(level, clock, 1000, ['claim']).admitted.claim!;
    expect(first).toBe(256);
    const second = window(level, clock, 1000, ['claim']).admitted.claim!;
    expect(second).toBeGreaterThanOrEqual(192);
    for (let i = 0; i < 50; i++) window(level, clock, 1000, ['claim']);
    expect(window(level, clock, 1000, ['claim']).admitted.claim).toBeGreaterThan(0);
  });
});
