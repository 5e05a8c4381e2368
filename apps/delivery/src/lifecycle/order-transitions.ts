import type { OrderStatus } from '@app/contracts';

/**
 * The order lifecycle: every status an order can have, who may move it, and what each move does to
 * the gift's counters. This table is the only description of the machine; the Lua scripts apply
 * the effects it names, and nothing moves an order without a row here.
 *
 * ```
 *            claim                 worker (take)            claim | worker
 *   (none) ───────▶ queued ───────────────────────▶ delivering ───────────▶ delivered
 *      │  claim         ▲  claim | worker | sweeper   │  │  │  claim | worker ▲  ▲
 *      ├────────────────┼─────────────────────────────┘  │  └──▶ failed ◀─┐   │  │ operator
 *      │ (sync)         │ (retry later, or attempt lost)  │          │     │   │  │
 *      └──▶ delivering  └─────────── operator ───────────┼──────────┘     │   │  │
 *      └──▶ refused (a claim rule said no)               └──▶ uncertain ──┴───┘──┘
 * ```
 */
export type LifecycleStatus = OrderStatus | 'refused';
/** Before the claim created the order's state. */
export type FromStatus = LifecycleStatus | 'none';

/**
 * Who moves an order: the claim request, a queue worker, the reconciler (sweeper) that looks after
 * orders nobody owns, or an operator through the admin API.
 */
export type Actor = 'claim' | 'worker' | 'sweeper' | 'operator';

/**
 * Side effects of a move, done in the same atomic script:
 * - `reserve`: check the claim rules and hold one unit (inventory, day and user counts, ledger);
 * - `release`: give the unit back (the contract: a `failed` order has released its reservation);
 * - `rereserve`: hold a released unit again (an operator re-queues a failed order), or refuse SOLD_OUT;
 * - `countUncertain` / `uncountUncertain`: the user's uncertain count for the gift (UNCERTAIN_LIMIT);
 * - `newAttempt`: advance the attempt epoch and lease the order to the mover until the lease ends;
 * - `watch`: list the order as open, to be checked again later (a queued order must have a job);
 * - `close`: the order is settled, or needs an operator: no longer open.
 */
export type Effect = 'reserve' | 'release' | 'rereserve' | 'countUncertain' | 'uncountUncertain' | 'newAttempt' | 'watch' | 'close';

export interface Transition {
  from: FromStatus;
  to: LifecycleStatus;
  actors: readonly Actor[];
  effects: readonly Effect[];
  /** Why the move exists, for readers and for refusal messages. */
  why: string;
}

export const TRANSITIONS: readonly Transition[] = [
  { from: 'none', to: 'refused', actors: ['claim'], effects: [], why: 'a claim rule refused the claim; a repeat gets the same refusal' },
  { from: 'none', to: 'queued', actors: ['claim'], effects: ['reserve', 'watch'], why: 'an async claim was accepted' },
  { from: 'none', to: 'delivering', actors: ['claim'], effects: ['reserve', 'newAttempt'], why: 'a sync claim was accepted and its request calls the provider' },
  { from: 'queued', to: 'delivering', actors: ['worker'], effects: ['newAttempt'], why: 'a worker takes the order' },
  {
    from: 'delivering', to: 'delivering', actors: ['worker'], effects: ['newAttempt'],
    why: 'a worker takes over an attempt whose lease ended (never sent, or the provider has order numbers)',
  },
  { from: 'delivering', to: 'delivered', actors: ['claim', 'worker'], effects: ['close'], why: 'the provider confirmed the delivery' },
  { from: 'queued', to: 'delivered', actors: ['claim', 'worker'], effects: ['close'], why: 'the provider confirmed an earlier attempt (lookup, or that attempt answered late)' },
  { from: 'uncertain', to: 'delivered', actors: ['claim', 'worker', 'operator'], effects: ['uncountUncertain', 'close'], why: 'the attempt thought lost was confirmed, or an operator confirmed it' },
  { from: 'delivering', to: 'failed', actors: ['claim', 'worker'], effects: ['release', 'close'], why: 'the provider refused (4xx), or the last attempt failed' },
  { from: 'delivering', to: 'uncertain', actors: ['claim', 'worker', 'sweeper'], effects: ['countUncertain', 'close'], why: 'sent to a provider without order numbers, and no answer' },
  { from: 'delivering', to: 'queued', actors: ['claim', 'worker', 'sweeper'], effects: ['watch'], why: 'not delivered and safe to send again: retried through the queue' },
  { from: 'uncertain', to: 'failed', actors: ['operator'], effects: ['uncountUncertain', 'release', 'close'], why: 'an operator found it was not delivered' },
  { from: 'failed', to: 'queued', actors: ['operator'], effects: ['rereserve', 'watch'], why: 'an operator re-queues a dead letter' },
];

/** The row for a move, or undefined when the table has none (the move is refused). */
export function findTransition(from: FromStatus, to: LifecycleStatus, actor: Actor): Transition | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to && t.actors.includes(actor));
}

/** Thrown when code asks for a move the table does not allow: a bug, never a user error. */
export class IllegalTransitionError extends Error {
  constructor(from: FromStatus, to: LifecycleStatus, actor: Actor) {
    super(`illegal order transition ${from} -> ${to} by ${actor}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The row for a move, or throws IllegalTransitionError. */
export function transitionFor(from: FromStatus, to: LifecycleStatus, actor: Actor): Transition {
  const row = findTransition(from, to, actor);
  if (!row) throw new IllegalTransitionError(from, to, actor);
  return row;
}

/** Statuses in which somebody still has to act (the order is listed as open). */
export const OPEN_STATUSES: ReadonlySet<LifecycleStatus> = new Set(['queued', 'delivering']);
/** Statuses after which the claim's answer no longer changes by itself. */
export const SETTLED_STATUSES: ReadonlySet<LifecycleStatus> = new Set(['delivered', 'failed', 'uncertain', 'refused']);
