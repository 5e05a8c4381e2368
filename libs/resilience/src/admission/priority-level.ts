import { systemClock, type Clock } from '../clock.js';
import { classRank, REQUEST_CLASSES, type RequestClass } from './request-class.js';
import { COHORTS } from './user-cohorts.js';

/** Options of {@link PriorityLevel}. */
export interface PriorityLevelOptions {
  /** Queueing delay (ms) above which the process counts as overloaded (DAGOR uses 20 ms). Default 20. */
  overloadedAboveMs?: number;
  /** Length of one judging window, in ms. Default 100. */
  windowMs?: number;
  /** Share by which an under-loaded window lets admissions grow. Default 0.05. */
  growth?: number;
  /**
   * Least busy share (event-loop utilisation, 0-1) at which a delay counts as this process's own
   * overload. A process that is mostly idle yet runs late is starved by others (a noisy neighbour, a
   * GC pause): shedding its own requests would not bring the delay down. Default 0.8.
   */
  minUtilization?: number;
  /**
   * Fewest requests a window must have admitted for its overload to cut the level. A process that
   * runs late while it serves a handful of requests is not slowed by them (a start-up compile, a
   * GC pause, a burst of timers), and a cut judged on a handful of keys would shut out every cohort
   * but theirs. Default 20 (200 requests/s over 100 ms windows).
   */
  minRequests?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/** Most of a window's admissions one overloaded window sheds (the level moves a quarter at a time, so it cannot overshoot far). */
const MAX_CUT = 0.25;

/** Share of a window's admissions below a pressed class shed per window. */
const PRESSURE_CUT = 0.1;

/** The middle value of `xs` (0 when empty). */
function median(xs: number[]): number {
  if (!xs.length) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Priority keys: a class's rank × 128 + the user's cohort; lower is more important. */
const KEYS = REQUEST_CLASSES.length * COHORTS;

/** The level's state, for metrics. */
export interface PriorityLevelSnapshot {
  /** Requests with a key below this are admitted (0..640; 640 admits everything). */
  level: number;
  /** Median queueing delay of the last judged window (ms). */
  delayMs: number;
  /** Mean busy share (event-loop utilisation) of the last judged window. */
  utilization: number;
  /** Mean share of the last judged window's time the process ran on a core (its CPU time over wall time). */
  cpuShare: number;
  /** Whether the last judged window was overloaded. */
  overloaded: boolean;
  /** Whether it was overloaded while starved of CPU (share under the busy mark): claims were not cut. */
  starved: boolean;
}

/**
 * DAGOR's admission level (WeChat, "Overload Control for Scaling WeChat Microservices", 2018) for one
 * process: every request has a priority key — its business priority (the request class) then its user
 * priority (the cohort, re-salted hourly) — and only keys below the level are admitted. The overload
 * signal is the process's own queueing delay (for Node, the event loop's lag: what every request
 * waits before it runs), not latency of downstream calls, so a slow dependency does not shed
 * unrelated traffic; and it counts only while the process is busy (utilisation ≥ `minUtilization`),
 * since a delay caused by a starved CPU does not go away by refusing work. A window's delay is the
 * median of its samples (one GC pause is not an overload), and a window that admitted fewer than
 * `minRequests` holds the level whatever its delay (a handful of requests did not cause it, and a cut
 * judged on their keys alone would refuse everyone else). Each window: if overloaded, the level
 * moves down to where the window's admitted requests shrink by `1 − threshold/delay` (at least 5%, at
 * most a quarter, so it cannot overshoot far); if the delay is under half the threshold, up to where
 * they grow by `growth`; otherwise it holds. Lower classes go first, and within
 * a class the same cohorts of users. A process whose loop is busy but whose CPU share is not (starved
 * by other processes on shared cores) sheds the lower classes as usual, never the most important
 * one (claims): their own service's limit still refuses them when it is overloaded, and refusing them
 * here would not give the process a core. Refusal is a comparison: O(1), before any work.
 */
export class PriorityLevel {
  private readonly clock: Clock;
  private readonly thresholdMs: number;
  private readonly windowMs: number;
  private readonly growth: number;
  private readonly minUtilization: number;
  private readonly minRequests: number;
  private readonly histogram = new Float64Array(KEYS);
  private level = KEYS;
  private windowStart: number;
  /** The window's delay samples (their median is the window's delay: one GC pause is not an overload). */
  private delays: number[] = [];
  private utilizationSum = 0;
  private cpuShareSum = 0;
  /** The most important class refused downstream in this window (its rank), if any. */
  private pressureRank: number | undefined;
  private last: PriorityLevelSnapshot = { level: KEYS, delayMs: 0, utilization: 0, cpuShare: 0, overloaded: false, starved: false };

  constructor(options: PriorityLevelOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.thresholdMs = options.overloadedAboveMs ?? 20;
    this.windowMs = options.windowMs ?? 100;
    this.growth = options.growth ?? 0.05;
    this.minUtilization = options.minUtilization ?? 0.8;
    this.minRequests = options.minRequests ?? 20;
    this.windowStart = this.clock.now();
  }

  /** Counts a request and says whether its key is below the level. */
  admits(cls: RequestClass, cohort: number): boolean {
    this.roll();
    const key = classRank(cls) * COHORTS + cohort;
    this.histogram[key]! += 1;
    return key < this.level;
  }

  /**
   * Records one measurement: the queueing delay (e.g. an event-loop lag sample, ms), the busy share
   * of the time since the last one (event-loop utilisation, 0-1), and the CPU time the process got
   * over that time (0-1; default the utilisation). A loop that runs callbacks while the machine's
   * scheduler keeps it off a core is busy by the first and starved by the second: such windows shed
   * the classes below the most important one as any overload, never that class (see the class doc).
   */
  recordLoad(delayMs: number, utilization: number, cpuShare = utilization): void {
    this.roll();
    this.delays.push(Math.max(0, delayMs));
    this.utilizationSum += Math.min(1, Math.max(0, utilization));
    this.cpuShareSum += Math.min(1, Math.max(0, cpuShare));
  }

  /**
   * Says that requests of class `cls` are being refused by a service's own limit (DAGOR's
   * back-pressure from downstream): while this process is busy, classes below it are shed further
   * (10% a window), so that on a shared machine a flood of lower requests gives way to them. The
   * class itself and those above it are never cut this way: a slow service that refuses its own
   * requests does not shed anyone else's while this process is idle.
   */
  recordPressure(cls: RequestClass): void {
    this.roll();
    const rank = classRank(cls);
    if (this.pressureRank === undefined || rank < this.pressureRank) this.pressureRank = rank;
  }

  /** Whether the level refuses some keys now: this process is shedding its own load. */
  get shedding(): boolean {
    this.roll();
    return this.level < KEYS;
  }

  snapshot(): PriorityLevelSnapshot {
    this.roll();
    return { ...this.last, level: this.level };
  }

  private roll(): void {
    const now = this.clock.now();
    if (now - this.windowStart < this.windowMs) return;
    const delay = median(this.delays);
    const utilization = this.delays.length ? this.utilizationSum / this.delays.length : 0;
    const busy = utilization >= this.minUtilization;
    let admitted = 0;
    for (let k = 0; k < this.level; k++) admitted += this.histogram[k]!;
    // Late while it served a handful of requests: not their doing, so not theirs to shed.
    const overloaded = delay > this.thresholdMs && busy && admitted >= this.minRequests;
    const cpuShare = this.delays.length ? this.cpuShareSum / this.delays.length : 0;
    // Starved: its CPU share below the busy mark (the loop waits for a core, not for its own work).
    const starved = overloaded && cpuShare < this.minUtilization;
    const floor = this.pressureRank === undefined ? KEYS : (this.pressureRank + 1) * COHORTS;
    const pressed = busy && this.pressureRank !== undefined && this.level > floor;
    if (overloaded) {
      const cut = Math.min(MAX_CUT, Math.max(0.05, 1 - this.thresholdMs / delay));
      const next = Math.max(1, this.keyAt(admitted * (1 - cut)));
      // Starved, refusing claims would not bring the delay down.
      this.level = starved ? Math.max(next, Math.min(this.level, COHORTS)) : next;
    } else if (pressed) {
      this.level = Math.max(floor, Math.min(this.level, this.keyAt(admitted * (1 - PRESSURE_CUT))));
    } else if (!busy || (this.pressureRank === undefined && delay < this.thresholdMs / 2)) {
      this.level = Math.max(this.level, this.keyAt(admitted * (1 + this.growth) + 1));
    }
    this.last = { level: this.level, delayMs: delay, utilization, cpuShare, overloaded, starved };
    this.histogram.fill(0);
    this.delays = [];
    this.utilizationSum = 0;
    this.cpuShareSum = 0;
    this.pressureRank = undefined;
    this.windowStart = now;
  }

  /** The smallest level whose keys below it held at least `target` of the window's requests (KEYS if none). */
  private keyAt(target: number): number {
    let sum = 0;
    for (let k = 0; k < KEYS; k++) {
      sum += this.histogram[k]!;
      if (sum >= target) return k + 1;
    }
    return KEYS;
  }
}
