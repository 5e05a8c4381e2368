import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type ClaimGiftReply,
  type ClaimGiftRequest,
  ErrorCode,
  fail,
  Flags,
  giftPausedFlag,
  ok,
  type OrderStatus,
  type Reply,
  utcDay,
} from '@app/contracts';
import { FlagCache } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { OrderDeliverer, type OrderRef } from '../deliveries/order-deliverer.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';
import { ClaimReporter } from './claim.reporter.js';
import { ClaimStore, type ReservedGift, type ReserveResult } from './claim.store.js';

const SETTLE_POLL_MS = 20;

/**
 * The claim: bind the order number, reserve, deliver (or queue).
 *
 * Input: gift, user, orderId (= Idempotency-Key). Output: `{ orderId, status }` or a refusal.
 * Idempotency: one orderId makes at most one reservation and at most one provider call at a time;
 * a repeat (sequential or concurrent) returns the same order, waiting briefly for a concurrent
 * first attempt to settle. While a request works on an order, the order is tracked as in flight:
 * if this process dies, the inflight sweeper of any delivery instance hands the order to the queue.
 */
@Injectable()
export class ClaimService {
  private readonly logger = new Logger(ClaimService.name);

  constructor(
    private readonly store: ClaimStore,
    private readonly deliverer: OrderDeliverer,
    private readonly queue: DeliveryQueue,
    private readonly flags: FlagCache,
    private readonly reporter: ClaimReporter,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  /** Claims, then reports the outcome on the non-essential branch (never waited for). */
  async claim(req: ClaimGiftRequest, nowMs = Date.now()): Promise<Reply<ClaimGiftReply>> {
    const steps = this.config.logLevel === 'debug' ? new StepTimes() : undefined;
    const reply = await this.claimOnce(req, nowMs, steps);
    if (steps) {
      this.logger.debug({ event: 'claim.steps', orderId: req.orderId, requestId: req.meta.requestId, ...steps.summary() });
    }
    this.reporter.report({
      orderId: req.orderId,
      giftId: req.giftId,
      status: reply.ok ? reply.value.status : reply.error.code,
      latencyMs: Date.now() - nowMs,
      at: nowMs,
    });
    return reply;
  }

  private async claimOnce(req: ClaimGiftRequest, nowMs: number, steps?: StepTimes): Promise<Reply<ClaimGiftReply>> {
    const { orderId, userId, giftId } = req;
    // Marked in flight together with binding (one round trip): before anything is reserved, the
    // order is recoverable if this process dies. A repeat that does not drive the order leaves a
    // mark the sweeper drops (it checks the order's status first).
    const [bound, isMarkedNow] = await Promise.all([
      this.store.bind(orderId, userId, giftId, nowMs),
      this.store.track(orderId, nowMs + this.config.inflightDeadlineMs),
    ]);
    steps?.mark('bind');
    const dropMark = async () => {
      if (isMarkedNow) await this.store.untrack(orderId);
    };
    if (bound.kind === 'reused') {
      await dropMark();
      return fail(ErrorCode.IdempotencyKeyReused, `Idempotency-Key ${orderId} was already used for another gift or user`);
    }
    if (bound.kind === 'existing') {
      if (bound.status === 'refused') {
        await dropMark();
        return refusalReply(bound.refusal ?? ErrorCode.NotFound, giftId);
      }
      if (bound.status !== 'new' && bound.status !== 'reserved') {
        if (bound.status !== 'delivering') await dropMark();
        return this.settledReply(orderId, bound.status);
      }
    }
    // This request drives the order (it is new, or an earlier attempt stopped before delivering).
    const order: OrderRef = { orderId, userId, giftId, requestId: req.meta.requestId };
    const isAsync = (gift: ReservedGift) => gift.delivery === 'async' || this.flags.isEnabled(Flags.DeliveryForceAsync);
    // A sync order goes straight from `new` to `delivering`: one compare-and-set instead of two.
    const reservation = await this.reserveOrder(order, bound.createdAtMs, nowMs, (gift) => (isAsync(gift) ? 'queued' : 'delivering'));
    steps?.mark('reserve');
    if (reservation.kind !== 'reserved') {
      await this.store.untrack(orderId);
      return reservation.kind === 'refused' ? refusalReply(reservation.code, giftId) : this.settledReply(orderId, 'failed');
    }
    const { gift, started } = reservation;
    if (isAsync(gift)) return ok({ orderId, status: await this.handToQueue(order, started.status) });
    // Only the request that moved the order to `delivering` calls the provider; a twin waits for it.
    if (!started.moved) return this.settledReply(orderId, started.status as OrderStatus);
    const result = await this.deliverer.attempt(order, gift, { finalAttempt: false });
    steps?.mark('provider');
    if (result.status === 'queued') return ok({ orderId, status: await this.handToQueue(order, 'queued') });
    await this.store.untrack(orderId);
    steps?.mark('settle');
    return ok({ orderId, status: result.status });
  }

  /**
   * Checks the rules and reserves for an order bound as `new` (idempotent: an order reserved
   * before gets its reservation back), then moves it from `new`/`reserved` to `next(gift)` and
   * indexes it for its user; or to `refused`. Also used by the queue worker to finish a claim
   * whose request died (with `next` = `reserved`).
   */
  async reserveOrder(
    order: OrderRef,
    createdAtMs: number,
    nowMs: number,
    next: (gift: ReservedGift) => 'reserved' | 'queued' | 'delivering',
  ): Promise<Exclude<ReserveResult, { kind: 'reserved' }> | { kind: 'reserved'; gift: ReservedGift; started: { moved: boolean; status: string } }> {
    const { orderId, userId, giftId } = order;
    const reservation = await this.store.reserve(orderId, userId, giftId, {
      nowMs,
      day: utcDay(nowMs),
      uncertainLimit: this.config.uncertainLimit,
      paused: this.flags.isEnabled(giftPausedFlag(giftId)),
    });
    if (reservation.kind === 'refused') {
      await this.store.transition(orderId, ['new'], 'refused', { nowMs, fields: { refusal: reservation.code } });
      return reservation;
    }
    if (reservation.kind === 'released') return reservation;
    const { gift } = reservation;
    const to = next(gift);
    const [started] = await Promise.all([
      this.store.transition(orderId, ['new', 'reserved'], to, {
        nowMs,
        attemptsDelta: to === 'delivering' ? 1 : 0,
        fields: { activityId: gift.activityId, reservedDay: gift.day },
      }),
      this.store.indexForUser(userId, orderId, createdAtMs),
    ]);
    return { kind: 'reserved', gift, started };
  }

  /** Puts the (already `queued`) order on the queue, then stops tracking it as in flight. */
  private async handToQueue(order: OrderRef, status: string): Promise<OrderStatus> {
    await this.queue.enqueue(order.orderId, order.requestId);
    await this.store.untrack(order.orderId);
    return status as OrderStatus;
  }

  /**
   * The reply for a repeat: the order's status, after waiting (bounded) while a concurrent first
   * attempt is still between reservation and a provider answer.
   */
  private async settledReply(orderId: string, status: OrderStatus | 'new'): Promise<Reply<ClaimGiftReply>> {
    let current: string = status;
    const deadline = Date.now() + this.config.claimSettleWaitMs;
    while ((current === 'new' || current === 'reserved' || current === 'delivering') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      current = (await this.store.orderRecord(orderId)).status ?? current;
    }
    // An order still `new` is shown as `reserved`: the claim was accepted and is being processed.
    return ok({ orderId, status: (current === 'new' ? 'reserved' : current) as OrderStatus });
  }
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
