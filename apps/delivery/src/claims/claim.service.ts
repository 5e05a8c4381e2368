import { Inject, Injectable } from '@nestjs/common';
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
import { ClaimStore, type ReserveResult } from './claim.store.js';

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
  constructor(
    private readonly store: ClaimStore,
    private readonly deliverer: OrderDeliverer,
    private readonly queue: DeliveryQueue,
    private readonly flags: FlagCache,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  async claim(req: ClaimGiftRequest, nowMs = Date.now()): Promise<Reply<ClaimGiftReply>> {
    const { orderId, userId, giftId } = req;
    const bound = await this.store.bind(orderId, userId, giftId, nowMs);
    if (bound.kind === 'reused') {
      return fail(ErrorCode.IdempotencyKeyReused, `Idempotency-Key ${orderId} was already used for another gift or user`);
    }
    if (bound.kind === 'existing') {
      if (bound.status === 'refused') return refusalReply(bound.refusal ?? ErrorCode.NotFound, giftId);
      if (bound.status !== 'new' && bound.status !== 'reserved') return this.settledReply(orderId, bound.status);
    }
    // This request drives the order (it is new, or an earlier attempt stopped before delivering).
    await this.store.track(orderId, nowMs + this.config.inflightDeadlineMs);
    const reservation = await this.reserveOrder(orderId, userId, giftId, nowMs);
    if (reservation.kind === 'refused') {
      await this.store.untrack(orderId);
      return refusalReply(reservation.code, giftId);
    }
    if (reservation.kind === 'released') {
      await this.store.untrack(orderId);
      return this.settledReply(orderId, 'failed');
    }
    const order: OrderRef = { orderId, userId, giftId, requestId: req.meta.requestId };
    const { gift } = reservation;
    if (gift.delivery === 'async' || this.flags.isEnabled(Flags.DeliveryForceAsync)) {
      return ok({ orderId, status: await this.handToQueue(order, ['reserved']) });
    }
    const started = await this.store.transition(orderId, ['reserved'], 'delivering', { nowMs: Date.now(), attemptsDelta: 1 });
    if (!started.moved) return this.settledReply(orderId, started.status as OrderStatus);
    const result = await this.deliverer.attempt(order, gift, { finalAttempt: false });
    if (result.status === 'queued') return ok({ orderId, status: await this.handToQueue(order, ['queued']) });
    await this.store.untrack(orderId);
    return ok({ orderId, status: result.status });
  }

  /**
   * Checks the rules and reserves for an order bound as `new` (idempotent: an order reserved
   * before gets its reservation back). Moves the order to `reserved` (indexed for its user) or
   * `refused`. Also used by the queue worker to finish a claim whose request died.
   */
  async reserveOrder(orderId: string, userId: string, giftId: string, nowMs: number): Promise<ReserveResult> {
    const reservation = await this.store.reserve(orderId, userId, giftId, {
      nowMs,
      day: utcDay(nowMs),
      uncertainLimit: this.config.uncertainLimit,
      paused: this.flags.isEnabled(giftPausedFlag(giftId)),
    });
    if (reservation.kind === 'refused') {
      await this.store.transition(orderId, ['new'], 'refused', { nowMs, fields: { refusal: reservation.code } });
    } else if (reservation.kind === 'reserved') {
      const { gift } = reservation;
      await this.store.transition(orderId, ['new'], 'reserved', { nowMs, fields: { activityId: gift.activityId, reservedDay: gift.day } });
      const createdAtMs = Number((await this.store.orderRecord(orderId)).createdAtMs ?? nowMs);
      await this.store.indexForUser(userId, orderId, createdAtMs);
    }
    return reservation;
  }

  /** Queues the order: marked `queued`, its job added, then no longer tracked as in flight. */
  private async handToQueue(order: OrderRef, from: string[]): Promise<OrderStatus> {
    const moved = await this.store.transition(order.orderId, from, 'queued', { nowMs: Date.now() });
    await this.queue.enqueue(order.orderId, order.requestId);
    await this.store.untrack(order.orderId);
    return moved.status as OrderStatus;
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
