import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type ClaimGiftReply,
  type ClaimRefusal,
  type ClaimGiftRequest,
  ErrorCode,
  fail,
  Flags,
  giftBuckets,
  giftPausedFlag,
  ok,
  type OrderStatus,
  remainingMs,
  type Reply,
  utcDay,
} from '@app/contracts';
import { FlagCache } from '@app/platform';
import { type ArchiveAnswer, ArchivedOrderLookup } from '../archive/archived-order.lookup.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { type AttemptOrder, OrderDeliverer } from '../deliveries/order-deliverer.js';
import { BucketRebalancer } from '../inventory/bucket.rebalancer.js';
import { DurabilityFence } from '../lifecycle/durability-fence.js';
import { GiftBucketCounts } from '../inventory/gift-bucket-counts.js';
import { type BindResult, OrderBindingStore, type OrderRef } from '../lifecycle/order-binding.store.js';
import { OrderStore, type StartResult } from '../lifecycle/order.store.js';
import type { LifecycleStatus } from '../lifecycle/order-transitions.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';
import { ClaimReporter } from './claim.reporter.js';

const SETTLE_POLL_MS = 20;
/** Longest a claim that found its bucket empty waits for the rebalancer's pass before it answers 503. */
const REFILL_WAIT_MS = 50;

/**
 * The claim: bind the order number, start the order in its gift's slot (rules, reservation and
 * status in one script), then deliver or queue.
 *
 * Input: gift, user, orderId (= Idempotency-Key). Output: `{ orderId, status }` or a refusal.
 * Idempotency: one orderId makes at most one reservation; only the request that started the order
 * holds its first attempt; a repeat (sequential or concurrent) returns the same order, waiting
 * briefly for a running attempt to settle. If this process dies mid-attempt, the attempt's lease
 * ends and any instance's reconciler recovers the order.
 */
@Injectable()
export class ClaimService {
  private readonly logger = new Logger(ClaimService.name);

  constructor(
    private readonly bindings: OrderBindingStore,
    private readonly orders: OrderStore,
    private readonly deliverer: OrderDeliverer,
    private readonly queue: DeliveryQueue,
    private readonly flags: FlagCache,
    private readonly reporter: ClaimReporter,
    private readonly archived: ArchivedOrderLookup,
    private readonly bucketCounts: GiftBucketCounts,
    private readonly rebalancer: BucketRebalancer,
    private readonly fence: DurabilityFence,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  /**
   * Claims, then reports it on the non-essential branch (never waited for), also when the claim
   * threw (a 503).
   */
  async claim(req: ClaimGiftRequest, nowMs = Date.now()): Promise<Reply<ClaimGiftReply>> {
    const steps = this.config.logLevel === 'debug' ? new StepTimes() : undefined;
    let reply: Reply<ClaimGiftReply> | undefined;
    try {
      reply = await this.claimOnce(req, nowMs, steps);
      return reply;
    } finally {
      if (steps) {
        this.logger.debug({ event: 'claim.steps', orderId: req.orderId, requestId: req.meta.requestId, ...steps.summary() });
      }
      this.reporter.report({
        orderId: req.orderId,
        giftId: req.giftId,
        status: !reply ? ErrorCode.ServiceUnavailable : reply.ok ? reply.value.status : reply.error.code,
        latencyMs: Date.now() - nowMs,
        at: nowMs,
      });
    }
  }

  private async claimOnce(req: ClaimGiftRequest, nowMs: number, steps?: StepTimes): Promise<Reply<ClaimGiftReply>> {
    // A split gift's claim is stored in the user's bucket, from the binding on: a repeat finds the same one.
    const giftId = await this.bucketCounts.claimSlot(req.giftId, req.userId);
    const order = { orderId: req.orderId, userId: req.userId, giftId, requestId: req.meta.requestId };
    const bound = await this.bindings.bind(order, nowMs);
    steps?.mark('bind');
    if (bound.kind === 'reused') return reusedReply(order.orderId);
    const archived = await this.askArchive(order, bound);
    if (archived?.kind === 'found') return this.archivedReply(order, archived.order, true);
    if (archived?.kind === 'unavailable') {
      // Kept for the repeat (still marked `ask`), but not for good if none comes.
      await this.bindings.expire(order.orderId, this.config.refusalRetentionS);
      return fail(ErrorCode.ServiceUnavailable, 'the order archive cannot be reached; retry shortly', { retryable: true });
    }
    steps?.mark('archive');
    const start = () => this.orders.start(order, {
      nowMs,
      day: utcDay(nowMs),
      createdAtMs: bound.createdAtMs,
      uncertainLimit: this.config.uncertainLimit,
      paused: this.flags.isEnabled(giftPausedFlag(req.giftId)),
      // A synchronous provider call that could not finish before the gateway gives up is not started:
      // the order is queued and answered 202 at once (the worker delivers it).
      forceAsync: this.flags.isEnabled(Flags.DeliveryForceAsync) || remainingMs(req.meta, Date.now()) < this.config.providerTotalDeadlineMs,
      // A sync claim calls its provider right after: its start records the send (one round trip less).
      sendRecord: this.fence.sendRecord(),
    });
    let started = await start();
    if (started.kind === 'refused' && started.code === 'REBALANCING') {
      // The user's bucket of a split gift is empty: a pass is asked for now and usually refills it
      // within milliseconds, so the claim waits for it (bounded) and tries once more before a 503.
      await this.rebalancer.refill(req.giftId, REFILL_WAIT_MS);
      started = await start();
    }
    steps?.mark('reserve');
    if (started.kind === 'refused') {
      if (started.code === 'REBALANCING') return this.bucketEmpty(order, req.giftId, bound.kind);
      return this.refused(order, bound.kind, started.code, archived?.kind === 'none' ? archived : undefined);
    }
    if (started.kind === 'started' && bound.kind === 'existing') await this.bindings.persist(order.orderId);
    // The user's index is written alongside the delivery, never before the order exists (a refused
    // claim is no order). If it fails, the claim answers 503 whatever the delivery did, and the
    // client's repeat writes it (idempotent) and reads the order's status.
    const indexed = this.bindings.indexForUser(order, bound.createdAtMs).then(() => undefined, (err: unknown) => err);
    const reply = await this.drive(order, started);
    steps?.mark('deliver');
    const indexError = await indexed;
    if (indexError) throw indexError;
    return reply;
  }

  /**
   * Whether the number is an archived order's (retention removed its binding after the archive held
   * it): asked before anything is started, so one key never makes two orders. The bind tells which
   * numbers need asking: a number the retired-number filter says was never retired does not (nearly
   * every new number); one it may have (all its bits set), or while the filter is not built, does, and
   * so does a repeat that finds a binding still marked `ask`. Asked only after the bind, never
   * alongside it: a lookup answered before the bind ran (the bind held up in a reconnect, say) could
   * predate the archive write of an order whose binding retention then removed, and the bind would
   * find the number new.
   *
   * PostgreSQL not answering: `unavailable` (a retryable 503; the binding keeps `ask`, so the repeat
   * asks again) for a number that may be retired; with the filter not built yet the claim goes on as if
   * the answer were none (claims do not wait for PostgreSQL; the README states the price).
   */
  private async askArchive(order: OrderRef, bound: Exclude<BindResult, { kind: 'reused' }>): Promise<ArchiveAnswer | { kind: 'unavailable' } | undefined> {
    if (!this.archived.enabled) return undefined;
    const mustAsk = bound.kind === 'new' ? bound.retired !== 'no' : bound.ask;
    if (!mustAsk) {
      if (bound.kind === 'new') this.archived.notRetired();
      return undefined;
    }
    const answer = await this.archived.find(order.orderId);
    if (answer.kind === 'found') return answer;
    const filterDown = bound.kind === 'new' && bound.retired === 'unknown';
    if (answer.kind === 'unknown' && !filterDown) return { kind: 'unavailable' };
    await this.bindings.asked(order.orderId);
    return answer;
  }

  /**
   * A refusal. When retention retired the gift, the number may belong to an order it removed from
   * Redis between our bind and start: the archive answers it (or, unreachable, a retryable 503 rather
   * than a wrong 409). Any other refusal never involves the archive, so a paused or not yet started
   * gift answers 409 whatever PostgreSQL does. A new binding of a refusal expires with the refusal's
   * record.
   */
  private async refused(order: OrderRef, bound: 'new' | 'existing', code: ClaimRefusal | 'NOT_FOUND' | 'RETIRED', asked?: ArchiveAnswer): Promise<Reply<ClaimGiftReply>> {
    if (code === 'RETIRED' && this.archived.enabled) {
      const answer = asked?.kind === 'none' && bound === 'new' ? asked : await this.archived.find(order.orderId);
      // Found: the binding is dropped whatever made it (retention drops it too, after the state).
      if (answer.kind === 'found') return this.archivedReply(order, answer.order, true);
      if (answer.kind === 'unknown') {
        if (bound === 'new') await this.bindings.expire(order.orderId, this.config.refusalRetentionS);
        return fail(ErrorCode.ServiceUnavailable, 'the order archive cannot be reached; retry shortly', { retryable: true });
      }
    }
    if (bound === 'new') await this.bindings.expire(order.orderId, this.config.refusalRetentionS);
    return refusalReply(code === 'RETIRED' ? ErrorCode.NotActive : code, giftBuckets.giftOf(order.giftId));
  }

  /**
   * The user's bucket of a split gift is still empty after a pass while others may hold stock: a
   * retryable 503 (the rebalancer was asked and refills it), never a SOLD_OUT the gift may not be.
   */
  private async bucketEmpty(order: OrderRef, giftId: string, bound: 'new' | 'existing'): Promise<Reply<ClaimGiftReply>> {
    if (bound === 'new') await this.bindings.expire(order.orderId, this.config.refusalRetentionS);
    return fail(ErrorCode.ServiceUnavailable, `stock of gift ${giftId} is being moved to your share of it; retry shortly`, { retryable: true });
  }

  /** The archived order under this number: the same answer as a repeat while it was in Redis. */
  private async archivedReply(order: OrderRef, archived: { userId: string; giftId: string; status: OrderStatus }, dropBinding: boolean): Promise<Reply<ClaimGiftReply>> {
    if (dropBinding) await this.bindings.drop(order.orderId);
    if (archived.userId !== order.userId || archived.giftId !== giftBuckets.giftOf(order.giftId)) return reusedReply(order.orderId);
    return ok({ orderId: order.orderId, status: archived.status });
  }

  private async drive(order: AttemptOrder, started: Exclude<StartResult, { kind: 'refused' }>): Promise<Reply<ClaimGiftReply>> {
    if (started.kind === 'existing') {
      // A repeat: a queued order gets its job made sure of (it may have been lost in a failover).
      if (started.status === 'queued') await this.handToQueue(order);
      return this.settledReply(order, started.status);
    }
    if (started.status === 'queued') return this.handToQueue(order);
    const result = await this.deliverer.attempt(order, started.epoch, started.target, { actor: 'claim', finalAttempt: false, sentMarked: started.sentMarked });
    if (result.lost) return this.settledReply(order, result.status);
    if (result.status === 'queued') return this.handToQueue(order);
    return ok({ orderId: order.orderId, status: result.status as OrderStatus });
  }

  /**
   * The order is `queued`: makes sure it has a job. If the queue cannot be reached now, the order is
   * still accepted: the reconciler gives it a job within RECONCILE_QUEUED_AFTER_MS.
   */
  private async handToQueue(order: AttemptOrder): Promise<Reply<ClaimGiftReply>> {
    await this.queue.ensureJob(order, order.requestId).catch((err: unknown) =>
      this.logger.warn({ event: 'enqueue.failed', orderId: order.orderId, requestId: order.requestId, error: (err as Error).message }),
    );
    return ok({ orderId: order.orderId, status: 'queued' });
  }

  /**
   * The reply for a repeat: the order's status, after waiting (bounded) while an attempt of it is
   * running.
   */
  private async settledReply(order: OrderRef, status: LifecycleStatus): Promise<Reply<ClaimGiftReply>> {
    let current = status;
    const deadline = Date.now() + this.config.claimSettleWaitMs;
    while (current === 'delivering' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      current = (await this.orders.state(order.giftId, order.orderId))?.status ?? current;
    }
    if (current === 'refused') return fail(ErrorCode.Conflict, `order ${order.orderId} was refused`);
    return ok({ orderId: order.orderId, status: current });
  }
}

function reusedReply(orderId: string): Reply<never> {
  return fail(ErrorCode.IdempotencyKeyReused, `Idempotency-Key ${orderId} was already used for another gift or user`);
}

function refusalReply(code: string, giftId: string): Reply<never> {
  const messages: Record<string, string> = {
    [ErrorCode.NotFound]: `gift ${giftId} does not exist`,
    [ErrorCode.NotActive]: `gift ${giftId} cannot be claimed now (outside the activity window, or paused)`,
    [ErrorCode.UserLimitReached]: `you have claimed gift ${giftId} as often as allowed`,
    [ErrorCode.TooManyUncertain]: `too many of your orders of gift ${giftId} are uncertain; wait until they are resolved`,
    [ErrorCode.SoldOut]: `gift ${giftId} has no inventory left`,
    [ErrorCode.DailyLimitReached]: `gift ${giftId} has reached today's limit`,
  };
  return fail(code as ErrorCode, messages[code] ?? `claim of gift ${giftId} refused`);
}

/** Durations of the claim's steps, for the debug log (only created when LOG_LEVEL=debug). */
class StepTimes {
  private readonly startedAt = performance.now();
  private last = this.startedAt;
  private readonly durations: Record<string, number> = {};

  mark(step: string): void {
    const now = performance.now();
    this.durations[`${step}Ms`] = Math.round((now - this.last) * 100) / 100;
    this.last = now;
  }

  summary(): Record<string, number> {
    return { ...this.durations, totalMs: Math.round((performance.now() - this.startedAt) * 100) / 100 };
  }
}
