import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '@app/contracts';
import { STABLE_RELEASE, type RolloutRoute } from '@app/routing';
import type { Comparison } from './release.judge.js';

/** Services a gray release applies to. */
export const RELEASE_SERVICES = ['query', 'delivery'] as const;
export type ReleaseService = (typeof RELEASE_SERVICES)[number];

/**
 * The rollout state machine, in one place:
 *   stable --PUT--> progressing --PUT (weight)--> progressing
 *   progressing --the schedule's next step is due and the last judgement was clean--> progressing (next weight)
 *   progressing --judge finds a regression--> rolled-back (weight 0, remaining steps dropped)
 *   progressing --promote--> promoted (the canary is the stable release)
 *   rolled-back | promoted | stable --PUT--> progressing (a new rollout: new salt, new users)
 */
export type RolloutState = 'stable' | 'progressing' | 'rolled-back' | 'promoted';

/** Why the judge rolled a canary back: the comparison that failed, and where. */
export interface RollbackEvidence {
  at: string;
  /** The gateway instance whose windows showed it (each gateway judges its own traffic). */
  judgedBy: string;
  comparison: Comparison;
}

/** One service's gray release, as stored in Redis and cached by every gateway. */
export interface Rollout {
  service: ReleaseService;
  /** The release everyone not on the canary uses. */
  stable: string;
  /** The release under test (kept after a rollback, for the record). */
  canary?: string;
  /** Share of users (0-100) on the canary while progressing. */
  weightPct: number;
  /** Salt of the user hash; a new rollout gets a new one. */
  salt: string;
  state: RolloutState;
  /** Bumped by every write: writers compare-and-set on it, so two rollbacks of one rollout store one. */
  generation: number;
  updatedAt: string;
  actor?: string;
  reason?: string;
  rollback?: RollbackEvidence;
  /** The operator's schedule: the weights still to come, each after so many seconds at the previous one. */
  steps?: RolloutStep[];
  /** When the next step is due (ISO-8601), if any remain. */
  stepAt?: string;
}

/** One step of a schedule: go to `weightPct` once the canary has spent `afterS` seconds, judged clean, at the weight before. */
export interface RolloutStep {
  weightPct: number;
  afterS: number;
}

/** The rollout of a service that never had one. */
export function initialRollout(service: ReleaseService): Rollout {
  return { service, stable: STABLE_RELEASE, weightPct: 0, salt: '', state: 'stable', generation: 0, updatedAt: new Date(0).toISOString() };
}

/** What the router applies: a canary only while progressing. */
export function routeOf(rollout: Rollout): RolloutRoute {
  const isLive = rollout.state === 'progressing' && rollout.canary !== undefined;
  return { stable: rollout.stable, canary: isLive ? rollout.canary : undefined, weightPct: isLive ? rollout.weightPct : 0, salt: rollout.salt };
}

/** Operator's `PUT /admin/releases/{service}`. */
export interface SetCanary {
  canary: string;
  weightPct: number;
  reason: string;
  actor: string;
  /** Optional schedule after `weightPct` (weights rising). None: the operator steps with PUTs. */
  steps?: RolloutStep[];
}

/**
 * The rollout after an operator sets a canary and weight. The same canary while progressing keeps
 * its salt (raising the weight only adds users); anything else starts a new rollout with a new salt.
 * @throws AppError CONFLICT when the canary is already the stable release.
 */
export function withCanary(current: Rollout, change: SetCanary, now: Date): Rollout {
  if (change.canary === current.stable) throw new AppError(ErrorCode.Conflict, `release ${change.canary} is already the stable release of ${current.service}`);
  const isSameRollout = current.state === 'progressing' && current.canary === change.canary;
  return {
    service: current.service,
    stable: current.stable,
    canary: change.canary,
    weightPct: change.weightPct,
    salt: isSameRollout ? current.salt : rolloutSalt(current.service, change.canary, current.generation + 1),
    state: 'progressing',
    generation: current.generation + 1,
    updatedAt: now.toISOString(),
    actor: change.actor,
    reason: change.reason,
    ...schedule(change.steps ?? [], now),
  };
}

/**
 * The rollout after its schedule's next step (called by the judge once it is due and the canary
 * was judged clean): the step's weight, the rest of the schedule, the next due time.
 */
export function stepped(current: Rollout, now: Date): Rollout {
  const [step, ...rest] = current.steps ?? [];
  if (!step) return current;
  const { steps: _steps, stepAt: _stepAt, ...base } = current;
  return { ...base, weightPct: step.weightPct, generation: current.generation + 1, updatedAt: now.toISOString(), actor: 'release-schedule', reason: `scheduled step to ${step.weightPct} %`, ...schedule(rest, now) };
}

/** Whether the schedule's next step is due at `nowMs`. */
export function isStepDue(rollout: Rollout, nowMs: number): boolean {
  return rollout.state === 'progressing' && rollout.stepAt !== undefined && Date.parse(rollout.stepAt) <= nowMs;
}

function schedule(steps: RolloutStep[], now: Date): Pick<Rollout, 'steps' | 'stepAt'> {
  if (!steps.length) return {};
  return { steps, stepAt: new Date(now.getTime() + steps[0].afterS * 1_000).toISOString() };
}

/**
 * The rollout after `promote`: the canary becomes the stable release.
 * @throws AppError CONFLICT when there is no progressing canary.
 */
export function promoted(current: Rollout, actor: string, reason: string, now: Date): Rollout {
  if (current.state !== 'progressing' || current.canary === undefined) {
    throw new AppError(ErrorCode.Conflict, `${current.service} has no canary in progress to promote (state ${current.state})`);
  }
  // A promotion ends any schedule: only what is listed here is carried over.
  return { service: current.service, stable: current.canary, weightPct: 0, salt: current.salt, state: 'promoted', generation: current.generation + 1, updatedAt: now.toISOString(), actor, reason };
}

/** The rollout after the judge found a regression: weight 0, the evidence kept. */
export function rolledBack(current: Rollout, evidence: RollbackEvidence, now: Date): Rollout {
  const reason = `${evidence.comparison.kind} ${evidence.comparison.id}: ${evidence.comparison.verdict}`;
  const { steps: _steps, stepAt: _stepAt, ...base } = current;
  return { ...base, weightPct: 0, state: 'rolled-back', generation: current.generation + 1, updatedAt: now.toISOString(), actor: 'release-judge', reason, rollback: evidence };
}

/**
 * A new rollout's salt: derived from the service, the canary and the rollout's generation, so each
 * rollout puts other users first on its canary, and who was on a canary can be recomputed later
 * (from the audit log) instead of depending on a random draw.
 */
export function rolloutSalt(service: string, canary: string, generation: number): string {
  return createHash('sha256').update(`${service}:${canary}:${generation}`).digest('hex').slice(0, 16);
}
