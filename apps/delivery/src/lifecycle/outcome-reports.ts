import type { Actor, FromStatus, LifecycleStatus } from './order-transitions.js';

/** A first settlement of an order: the analytics event of its delivery outcome. */
export interface OutcomeReport {
  orderId: string;
  giftId: string;
  status: 'delivered' | 'failed' | 'uncertain';
  /** When it settled, in ms since the epoch. */
  at: number;
}

/**
 * Where the order store reports settlements (the non-essential analytics branch; `report()` must
 * never wait or throw). Provided by the claim reporter; absent in tests that do not need it.
 */
export abstract class OutcomeReports {
  /** `actor`: who moved the order (`claim` when the claim request's own attempt settled it). */
  abstract outcome(report: OutcomeReport, actor: Actor): void;
}

const OUTCOMES = new Set<LifecycleStatus>(['delivered', 'failed', 'uncertain']);

/**
 * The outcome a move reports, if any: a move into delivered, failed or uncertain, except out of
 * uncertain (a resolution of an order already counted as uncertain is not a second outcome).
 */
export function reportedOutcome(from: FromStatus, to: LifecycleStatus): OutcomeReport['status'] | undefined {
  return OUTCOMES.has(to) && from !== 'uncertain' ? (to as OutcomeReport['status']) : undefined;
}
