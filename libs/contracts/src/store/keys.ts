/**
 * The Redis key layout, shared by every app. Each atomic script touches keys of one Redis Cluster
 * hash slot, so keys are grouped by the hash tag in braces:
 *
 * - `{g:<giftId>}` a gift and everything a claim or a status change must check and change
 *   atomically: its config and reserved count, per-day counts, per-user counts, the reservation
 *   ledger (orderId -> state), each order's state and history, and the gift's open orders.
 * - `{o:<orderId>}` one order number's binding to (user, gift): the idempotency record.
 * - `{u:<userId>}` a user's order index.
 * - `{a:<activityId>}` an activity's config.
 *
 * A claim therefore runs two single-slot steps (bind the order number and index it for its user,
 * then start the order in its gift's slot), each idempotent by orderId; every later status change is
 * one script in the gift's slot that also does its side effects on the gift's counters.
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
  /** The gift's keys all start with this (scripts derive the per-day keys from it). */
  giftSlot(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}`;
  }
  /** One order's state (status, attempt epoch, counts, times): see the delivery app's lifecycle. */
  orderState(giftId: string, orderId: string): string {
    return `${this.prefix}:{g:${giftId}}:order:${orderId}`;
  }
  /** List of an order's status changes, oldest first: `<atMs>|<status>|<actor>|<reason>`. */
  orderHistory(giftId: string, orderId: string): string {
    return `${this.prefix}:{g:${giftId}}:history:${orderId}`;
  }
  /**
   * Sorted set of the gift's open orders (`queued`, `delivering`), scored by the Redis time (ms)
   * at which somebody must look at the order again: the end of a running attempt's lease, or the
   * next check that a queued order still has a job. The reconciler reads it.
   */
  giftOpenOrders(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:open`;
  }
  /**
   * Sorted set of every order the gift's claims started (refusals excluded), scored by the order's
   * creation time (ms): the operator's order listing walks it. In the gift's slot, so the claim
   * script adds to it atomically and a retention job deletes it with the gift.
   */
  giftOrders(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:orders`;
  }
  /**
   * Sorted set of the gift's `uncertain` orders, scored by creation time (ms): the operator's work
   * list. Kept by the moves that count and uncount an order as uncertain, in the same script.
   */
  giftUncertainOrders(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:uncertain`;
  }
  /**
   * A sold-out gift's latch (JSON, see the platform's `SoldOutLatchRecord`): present while the gift
   * is sold out and its latch has been built; deleted when inventory comes back.
   */
  giftSoldOutLatch(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:sold-out`;
  }
  /** Pub/sub channel announcing a latch change: the message is `armed|<giftId>` or `cleared|<giftId>`. */
  soldOutChannel(): string {
    return `${this.prefix}:sold-out:changed`;
  }
  /**
   * Stream of the gift's order settlements (`o` orderId, `v` version), added by the move to
   * `delivered` or `failed` in the same script: the archiver's input (consumer group `archivers`).
   * An entry is deleted once the order is in PostgreSQL, so the stream holds what is not archived yet.
   */
  giftSettled(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:settled`;
  }
  /**
   * Hash of a split gift's stock transfers under way, in the gift's slot (transfer id ->
   * `out|<bucketId>|<units>` from the gift's pool to a bucket, `in|<bucketId>|<units>` back), and in
   * a bucket's slot the transfers it has applied (transfer id -> units): see the delivery app's
   * BucketRebalancer.
   */
  giftTransfers(giftId: string): string {
    return `${this.prefix}:{g:${giftId}}:transfers`;
  }
  /** Set of the gifts split over buckets (the rebalancer walks them). */
  splitGifts(): string {
    return `${this.prefix}:split-gifts`;
  }
  /** Set of every published gift id and bucket id (the reconciler walks their open orders). */
  gifts(): string {
    return `${this.prefix}:gifts`;
  }
  /** An order number's binding: `orderId`, `userId`, `giftId`, `createdAtMs`. */
  orderBinding(orderId: string): string {
    return `${this.prefix}:{o:${orderId}}:order`;
  }
  /**
   * One cluster slot's shard of the retired-number filter (a Bloom filter of the order numbers
   * retention removed from Redis): a fixed-size string of bits. `tag` is a hash tag in the same slot
   * as the bindings it covers (see the delivery app's `RetiredNumbers`), so the bind script reads it
   * atomically with the binding. Present only when complete: an absent shard means "unknown".
   */
  retiredNumbers(tag: string): string {
    return `${this.prefix}:{${tag}}:retired`;
  }
  /** The shard being rebuilt from the archive (renamed to `retiredNumbers(tag)` when complete). */
  retiredNumbersNext(tag: string): string {
    return `${this.prefix}:{${tag}}:retired-next`;
  }
  /** Set once every shard of the retired-number filter is complete (its size in bytes per shard). */
  retiredNumbersReady(): string {
    return `${this.prefix}:retired-numbers:ready`;
  }
  /** Short lock: one delivery instance at a time rebuilds the retired-number filter. */
  retiredNumbersBuildLock(): string {
    return `${this.prefix}:retired-numbers:build-lock`;
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
  /** Short lock: one delivery instance at a time runs a retention pass. */
  retentionLock(): string {
    return `${this.prefix}:retention-lock`;
  }
  /** Hash of degradation flags: name -> `1` when enabled. */
  flags(): string {
    return `${this.prefix}:flags`;
  }
  /** Pub/sub channel announcing a flag change (the message is the flag name). */
  flagsChannel(): string {
    return `${this.prefix}:flags:changed`;
  }
  /** Pub/sub channel of one order's status changes (the message is `<version>|<status>`). */
  orderEvents(orderId: string): string {
    return `${this.prefix}:order-events:${orderId}`;
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
  /** Hash of the release (`RELEASE`) each registered instance of `service` runs: `host:port` -> release. */
  registryReleases(service: string): string {
    return `${this.prefix}:registry:${service}:releases`;
  }
  /** Hash of the gray-release rollout of each service: service -> rollout JSON (see the gateway's releases folder). */
  releases(): string {
    return `${this.prefix}:releases`;
  }
  /** Hash of each gateway's canary-judge tallies (field: gateway id; value: JSON with its time), shared so every gateway judges the cluster's calls. */
  releaseTallies(): string {
    return `${this.prefix}:releases:tallies`;
  }
  /** Pub/sub channel announcing a rollout change (message: the service). */
  releasesChannel(): string {
    return `${this.prefix}:releases:changed`;
  }
  /** Stream of claim reports (the non-essential analytics branch). */
  reports(): string {
    return `${this.prefix}:reports`;
  }
  /** Stream of published activity configurations (archived to PostgreSQL's activity_versions). */
  activityVersions(): string {
    return `${this.prefix}:activity-versions`;
  }
  /** Stream of operator changes: time, actor, action, reason. */
  audit(): string {
    return `${this.prefix}:audit`;
  }
}

/** The UTC day of a time, as used in `giftDay` keys. */
export const utcDay = (timeMs: number): string => new Date(timeMs).toISOString().slice(0, 10);
