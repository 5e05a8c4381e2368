/**
 * The Redis key layout, shared by every app. Each atomic script touches keys of one Redis Cluster
 * hash slot, so keys are grouped by the hash tag in braces:
 *
 * - `{g:<giftId>}` a gift and everything a claim must check and change atomically: its config and
 *   reserved count, per-day counts, per-user counts, and the reservation ledger (orderId -> state).
 * - `{o:<orderId>}` one order: the idempotency record and the order's state, bound to user and gift.
 * - `{u:<userId>}` a user's order index.
 * - `{a:<activityId>}` an activity's config.
 *
 * A claim therefore runs three single-slot steps (bind order, reserve in gift, index for user), each
 * idempotent by orderId, so a crash between steps is repaired by the next repeat of the request.
 */
export class RedisKeys {
  /** @param prefix namespace of this deployment (env `REDIS_PREFIX`, default `rp`). */
  constructor(readonly prefix: string) {}

  gift(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:gift`;
  }
  /** Reservations made on one UTC day (`YYYY-MM-DD`). */
  giftDay(giftId: string, day: string): string {
    return `${this.prefix}:{g:${giftId}}:day:${day}`;
  }
  /** Hash of one user's counts for one gift: `claimed`, `uncertain`. */
  giftUser(giftId: string, userId: string): string {
    return `${this.prefix}:{g:${giftId}}:user:${userId}`;
  }
  /** Hash orderId -> `<state>|<day>|<userId>` (state `r` reserved, `x` released). */
  giftLedger(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:ledger`;
  }
  order(orderId: string): string {
    return `${this.prefix}:{o:${orderId}}:order`;
  }
  userOrders(userId: string): string {
    return `${this.prefix}:{u:${userId}}:orders`;
  }
  activity(activityId: string): string {
    return `${this.prefix}:{a:${activityId}}:activity`;
  }
  /** Set of published activity ids. */
  activities(): string {
    return `${this.prefix}:activities`;
  }
  /** Short lock serialising activity publishing (its storage checks span several slots). */
  publishLock(): string {
    return `${this.prefix}:publish-lock`;
  }
  /** Hash of degradation flags: name -> `1` when enabled. */
  flags(): string {
    return `${this.prefix}:flags`;
  }
  /** Pub/sub channel announcing a flag change (the message is the flag name). */
  flagsChannel(): string {
    return `${this.prefix}:flags:changed`;
  }
  /** Pub/sub channel of one order's status changes (the message is the new status). */
  orderEvents(orderId: string): string {
    return `${this.prefix}:order-events:${orderId}`;
  }
  /**
   * Sorted set of orders being delivered synchronously, scored by the time after which the
   * attempt must have ended; a sweeper hands orders whose deliverer died to the queue.
   */
  inflight(): string {
    return `${this.prefix}:inflight`;
  }
  /** BullMQ prefix: one hash tag, so every queue key shares a cluster slot. */
  queuePrefix(): string {
    return `${this.prefix}:{queue}`;
  }
  /**
   * Sorted set of the live instances of one service (`query`, `delivery`): member `host:port`,
   * score the Redis server time (ms) at which its registration lapses unless renewed.
   */
  registry(service: string): string {
    return `${this.prefix}:registry:${service}`;
  }
  /** Stream of claim reports (the non-essential analytics branch). */
  reports(): string {
    return `${this.prefix}:reports`;
  }
  /** Stream of operator changes: time, actor, action, reason. */
  audit(): string {
    return `${this.prefix}:audit`;
  }
}

/** The UTC day of a time, as used in `giftDay` keys. */
export const utcDay = (timeMs: number): string => new Date(timeMs).toISOString().slice(0, 10);
