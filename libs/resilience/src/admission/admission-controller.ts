import { systemClock, type Clock } from '../clock.js';
import { GradientLimit, type GradientLimitOptions } from './gradient-limit.js';
import { classRank, DEFAULT_CLASS_SHARES, REQUEST_CLASSES, type RequestClass } from './request-class.js';
import { COHORTS } from './user-cohorts.js';

/** Options of {@link AdmissionController}. */
export interface AdmissionOptions {
  /** The adaptive limit's options. */
  limit?: GradientLimitOptions;
  /** Share of the limit each class may fill while a higher class is active. Default {@link DEFAULT_CLASS_SHARES}. */
  shares?: Partial<Record<RequestClass, number>>;
  /** Length of the window the cohort gate judges refusals over, in ms. Default 200. */
  cohortWindowMs?: number;
  /** Refused share of a window's arrivals above which the cohort gate admits fewer cohorts. Default 0.2. */
  cohortShedAbove?: number;
  /** Refused share of a window's arrivals below which the cohort gate admits more cohorts. Default 0.05. */
  cohortGrowBelow?: number;
  /** How long a class counts as active after its last arrival, in ms (for headroom). Default 1000. */
  activeForMs?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/** Why a request was refused. */
export type RefusalReason = 'limit' | 'cohort';

/** An admitted request's slot: release it once, when the request is done. */
export interface Permit {
  /**
   * Frees the slot. `outcome`: `ok` (a latency sample), `dropped` (timed out or refused downstream
   * for overload: the limit backs off), `untimed` (answered, but its latency says nothing about the
   * service: the caller itself was overloaded; it counts as traffic, not as latency), `ignore` (no
   * sample, e.g. a stream or a client that went away).
   */
  release(outcome: PermitOutcome): void;
}

export type PermitOutcome = 'ok' | 'dropped' | 'untimed' | 'ignore';

export type Admission = { admitted: true; permit: Permit } | { admitted: false; reason: RefusalReason };

/** Counters of one class. */
export interface ClassSnapshot {
  inflight: number;
  admitted: number;
  refusedLimit: number;
  refusedCohort: number;
  /** Cohorts (of {@link COHORTS}) the class admits now. */
  admittedCohorts: number;
}

/** The controller's state, for metrics and admin views. */
export interface AdmissionSnapshot {
  limit: number;
  inflight: number;
  baselineMs: number;
  recentMs: number;
  classes: Record<RequestClass, ClassSnapshot>;
}

interface ClassState extends ClassSnapshot {
  share: number;
  lastArrivalMs: number;
  windowStartMs: number;
  windowArrivals: number;
  windowRefused: number;
  /** Refused share of arrivals, smoothed over windows (one window's burst does not move the cohorts). */
  refusedShare: number;
}

/**
 * Admission control for one upstream service (at a gateway) or one service instance: an adaptive
 * concurrency limit ({@link GradientLimit}), business priority (each class may fill only its share of
 * the limit while a higher class is active: headroom kept for claims), and user priority (DAGOR's
 * cohorts: while a class keeps refusing, it admits fewer cohorts, so a shed user is refused at once,
 * consistently, for the hour, instead of every user failing at random; when refusals stop, cohorts
 * come back multiplicatively). Every decision is O(1) and synchronous: refusing costs nothing but the
 * call. Pure but for the clock.
 */
export class AdmissionController {
  readonly limiter: GradientLimit;
  private readonly clock: Clock;
  private readonly classes: Record<RequestClass, ClassState>;
  private readonly cohortWindowMs: number;
  private readonly cohortShedAbove: number;
  private readonly cohortGrowBelow: number;
  private readonly activeForMs: number;
  private inflightTotal = 0;

  constructor(options: AdmissionOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new GradientLimit(options.limit);
    this.cohortWindowMs = options.cohortWindowMs ?? 200;
    this.cohortShedAbove = options.cohortShedAbove ?? 0.2;
    this.cohortGrowBelow = options.cohortGrowBelow ?? 0.05;
    this.activeForMs = options.activeForMs ?? 1000;
    const shares = { ...DEFAULT_CLASS_SHARES, ...options.shares };
    const now = this.clock.now();
    this.classes = Object.fromEntries(
      REQUEST_CLASSES.map((cls) => {
        const share = shares[cls];
        if (!(share > 0 && share <= 1)) throw new RangeError(`share of ${cls} must be in (0, 1] (got ${share})`);
        const state: ClassState = {
          share,
          inflight: 0,
          admitted: 0,
          refusedLimit: 0,
          refusedCohort: 0,
          admittedCohorts: COHORTS,
          lastArrivalMs: -Infinity,
          windowStartMs: now,
          windowArrivals: 0,
          windowRefused: 0,
          refusedShare: 0,
        };
        return [cls, state];
      }),
    ) as Record<RequestClass, ClassState>;
  }

  /** Admits a request of class `cls` from user cohort `cohort` (0..127), or says why not. */
  tryAcquire(cls: RequestClass, cohort: number): Admission {
    const now = this.clock.now();
    const state = this.classes[cls];
    this.rollWindow(state, now);
    state.lastArrivalMs = now;
    state.windowArrivals++;
    if (cohort >= state.admittedCohorts) {
      state.refusedCohort++;
      return { admitted: false, reason: 'cohort' };
    }
    if (this.inflightTotal >= this.ceiling(cls, now)) {
      state.refusedLimit++;
      // A refusal while the limit probes its baseline (half the limit for one window) is deliberate
      // and brief: it says nothing about this class's overload.
      if (!this.limiter.isProbing) state.windowRefused++;
      return { admitted: false, reason: 'limit' };
    }
    state.admitted++;
    state.inflight++;
    const inflightAtStart = ++this.inflightTotal;
    let released = false;
    return {
      admitted: true,
      permit: {
        release: (outcome) => {
          if (released) return;
          released = true;
          state.inflight--;
          this.inflightTotal--;
          if (outcome === 'ignore') return;
          const end = this.clock.now();
          this.limiter.sample(end, end - now, inflightAtStart, outcome === 'dropped', outcome !== 'untimed');
        },
      },
    };
  }

  snapshot(): AdmissionSnapshot {
    const now = this.clock.now();
    const classes = {} as Record<RequestClass, ClassSnapshot>;
    for (const cls of REQUEST_CLASSES) {
      const s = this.classes[cls];
      this.rollWindow(s, now);
      classes[cls] = { inflight: s.inflight, admitted: s.admitted, refusedLimit: s.refusedLimit, refusedCohort: s.refusedCohort, admittedCohorts: s.admittedCohorts };
    }
    return { limit: this.limiter.limit, inflight: this.inflightTotal, baselineMs: this.limiter.baselineMs, recentMs: this.limiter.recentMs, classes };
  }

  /** How many calls may be in flight when a request of `cls` arrives: its share, unless no higher class is active. */
  private ceiling(cls: RequestClass, now: number): number {
    const limit = this.limiter.limit;
    const rank = classRank(cls);
    for (let higher = 0; higher < rank; higher++) {
      if (now - this.classes[REQUEST_CLASSES[higher]!].lastArrivalMs < this.activeForMs) return Math.max(1, Math.floor(limit * this.classes[cls].share));
    }
    return limit;
  }

  /**
   * Ends the class's cohort window when it is over. The refused share (for the limit, outside its
   * probes) is smoothed over windows (weight 0.3 for the newest); while it is above `cohortShedAbove`
   * the class admits half that share fewer cohorts each window, below `cohortGrowBelow` 10% more
   * (plus one), in between it holds. Cohorts never go below 1: someone is always admitted.
   */
  private rollWindow(state: ClassState, now: number): void {
    if (now - state.windowStartMs < this.cohortWindowMs) return;
    const arrivals = state.windowArrivals;
    if (arrivals > 0) {
      const refused = (state.refusedShare = 0.7 * state.refusedShare + 0.3 * (state.windowRefused / arrivals));
      // Half the refused share: the limit keeps refusing a little at the edge, which is what keeps
      // the cohorts near what the limit can take rather than swinging below it.
      if (refused > this.cohortShedAbove) {
        state.admittedCohorts = Math.max(1, Math.floor(state.admittedCohorts * (1 - refused / 2)));
      } else if (refused < this.cohortGrowBelow) {
        state.admittedCohorts = Math.min(COHORTS, Math.floor(state.admittedCohorts * 1.1) + 1);
      }
    }
    // Nobody asked for a whole window: the overload that shed these cohorts is over.
    if (arrivals === 0 || now - state.windowStartMs >= 2 * this.cohortWindowMs) {
      state.admittedCohorts = COHORTS;
      state.refusedShare = 0;
    }
    state.windowStartMs = now;
    state.windowArrivals = 0;
    state.windowRefused = 0;
  }
}
