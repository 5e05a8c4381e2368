import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type ClaimGiftReply,
  type ClaimGiftRequest,
  ErrorCode,
  fail,
  ok,
  type OrderStatus,
  type Reply,
  utcDay,
} from '@app/contracts';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { ProviderClient } from '../provider/provider.client.js';
import { ClaimStore, type ReservedGift } from './claim.store.js';

const SETTLE_POLL_MS = 20;

/**
 * The claim: bind the order number, reserve, deliver.
 *
 * Input: gift, user, orderId (= Idempotency-Key). Output: `{ orderId, status }` or a refusal.
 * Idempotency: one orderId makes at most one reservation and at most one provider call at a time;
 * a repeat (sequential or concurrent) returns the same order, waiting briefly for a concurrent
 * first attempt to settle. A repeat after a crash resumes where the first attempt stopped.
 * A transient provider failure never fails the order: it stays `queued` (or `uncertain` when the
 * provider may have delivered and cannot be asked again), never delivered twice, never lost.
 */
@Injectable()
export class ClaimService {
  private readonly logger = new Logger(ClaimService.name);

  constructor(
    private readonly store: ClaimStore,
    private readonly provider: ProviderClient,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  async claim(req: ClaimGiftRequest, nowMs = Date.now()): Promise<Reply<ClaimGiftReply>> {
    const { orderId, userId, giftId } = req;
    const [bound, paused] = await Promise.all([
      this.store.bind(orderId, userId, giftId, nowMs),
      this.store.isPaused(giftId),
    ]);
    if (bound.kind === 'reused') {
      return fail(ErrorCode.IdempotencyKeyReused, `Idempotency-Key ${orderId} was already used for another gift or user`);
    }
    if (bound.kind === 'existing') {
      if (bound.status === 'refused') return refusalReply(bound.refusal ?? ErrorCode.NotFound, giftId);
      if (bound.status !== 'new' && bound.status !== 'reserved') return this.settledReply(orderId, bound.status);
    }
    const reservation = await this.store.reserve(orderId, userId, giftId, {
      nowMs, day: utcDay(nowMs), uncertainLimit: this.config.uncertainLimit, paused,
    });
    if (reservation.kind === 'refused') {
      await this.store.transition(orderId, ['new'], 'refused', { nowMs, fields: { refusal: reservation.code } });
      return refusalReply(reservation.code, giftId);
    }
    if (reservation.kind === 'released') return this.settledReply(orderId, 'failed');
    const { gift } = reservation;
    await this.store.transition(orderId, ['new'], 'reserved', {
      nowMs, fields: { activityId: gift.activityId, reservedDay: gift.day },
    });
    const createdAtMs = Number((await this.store.orderRecord(orderId)).createdAtMs ?? nowMs);
    await this.store.indexForUser(userId, orderId, createdAtMs);
    return this.deliver(req, gift);
  }

  /** Delivers a reserved order once: only the caller that moves it to `delivering` calls the provider. */
  private async deliver(req: ClaimGiftRequest, gift: ReservedGift): Promise<Reply<ClaimGiftReply>> {
    const { orderId, userId, giftId } = req;
    if (gift.delivery === 'async') {
      const queued = await this.store.transition(orderId, ['reserved'], 'queued', { nowMs: Date.now() });
      return ok({ orderId, status: queued.status as OrderStatus });
    }
    const started = await this.store.transition(orderId, ['reserved'], 'delivering', { nowMs: Date.now(), attemptsDelta: 1 });
    if (!started.moved) return this.settledReply(orderId, started.status as OrderStatus);

    const outcome = await this.provider.deliver(gift.providerUrl, { orderId, userId, giftId, quantity: 1 });
    const nowMs = Date.now();
    switch (outcome.kind) {
      case 'delivered':
        await this.store.transition(orderId, ['delivering'], 'delivered', { nowMs, fields: { providerRef: outcome.providerRef ?? '' } });
        return ok({ orderId, status: 'delivered' });
      case 'refused':
        await this.store.transition(orderId, ['delivering'], 'failed', { nowMs, error: outcome.reason });
        await this.store.release(orderId, userId, giftId, gift.day);
        return ok({ orderId, status: 'failed' });
      case 'not-sent':
      case 'failed':
        return this.leave(req, 'queued', outcome.reason);
      case 'unknown':
        // With order numbers the provider dedupes a re-send, so the order can simply be retried;
        // without them a re-send may deliver twice: the order is uncertain until an operator decides.
        return this.leave(req, gift.orderNumbers ? 'queued' : 'uncertain', outcome.reason);
    }
  }

  /** Leaves an order whose delivery did not finish in a non-terminal status, answered with 202. */
  private async leave(req: ClaimGiftRequest, status: 'queued' | 'uncertain', reason: string): Promise<Reply<ClaimGiftReply>> {
    const moved = await this.store.transition(req.orderId, ['delivering'], status, { nowMs: Date.now(), error: reason });
    if (moved.moved && status === 'uncertain') await this.store.countUncertain(req.giftId, req.userId);
    this.logger.warn({ event: `order.${status}`, orderId: req.orderId, requestId: req.meta.requestId, reason });
    return ok({ orderId: req.orderId, status: moved.status as OrderStatus });
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
