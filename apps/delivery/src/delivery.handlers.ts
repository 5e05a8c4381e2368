import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  activityConfigSchema,
  type ClaimGiftReply,
  type ClaimGiftRequest,
  type DiscardFailedReply,
  type DiscardFailedRequest,
  ErrorCode,
  fail,
  ID_PATTERN,
  type MessageMeta,
  ok,
  type OrderStatusReply,
  Patterns,
  type PlanActivityReply,
  type PlanActivityRequest,
  type PublishActivityReply,
  type PublishActivityRequest,
  type QueueCountsReply,
  type QueueFailedReply,
  type QueueFailedRequest,
  type Reply,
  type ResolveOrderRequest,
  type RetryFailedRequest,
} from '@app/contracts';
import type { BreakerSnapshot } from '@app/resilience';
import { PublishService } from './activities/publish.service.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from './config/delivery.config.js';
import { ClaimService } from './claims/claim.service.js';
import { IntakeGate } from './intake-gate.js';
import { OrderAdminService } from './orders/order-admin.service.js';
import { GuardedProvider } from './provider/guarded-provider.js';
import { DeliveryQueue } from './queue/delivery.queue.js';

const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);
const meta = (req: { meta?: { requestId?: unknown; deadline?: unknown } } | undefined): MessageMeta => {
  const deadline = req?.meta?.deadline;
  return { requestId: String(req?.meta?.requestId ?? ''), ...(typeof deadline === 'number' && Number.isFinite(deadline) ? { deadline } : {}) };
};
const actor = (req: { actor?: unknown } | undefined) => String(req?.actor ?? 'unknown').slice(0, 128);
/** An operator's optional reason, as given (at most 500 characters). */
const reasonOf = (req: { reason?: unknown } | undefined) => (typeof req?.reason === 'string' ? { reason: req.reason.slice(0, 500) } : {});

/**
 * TCP handlers of the delivery service. Input is re-checked here (the receiving edge), because
 * the transport accepts any JSON; a malformed message gets BAD_REQUEST, never an exception.
 */
@Controller()
export class DeliveryHandlers {
  constructor(
    private readonly claims: ClaimService,
    private readonly publisher: PublishService,
    private readonly orders: OrderAdminService,
    private readonly queue: DeliveryQueue,
    private readonly provider: GuardedProvider,
    private readonly intake: IntakeGate,
    @Inject(DELIVERY_CONFIG) private readonly config: Pick<DeliveryConfig, 'release'>,
  ) {}

  @MessagePattern(Patterns.Ping)
  ping(): Reply<{ pong: true; release: string }> {
    // The release rides the ping: a gateway learns it from instances it knows only by address.
    return ok({ pong: true, release: this.config.release });
  }

  @MessagePattern(Patterns.ClaimGift)
  async claim(@Payload() req: ClaimGiftRequest): Promise<Reply<ClaimGiftReply>> {
    if (!req || !isId(req.giftId) || !isId(req.userId) || !isId(req.orderId)) {
      return fail(ErrorCode.BadRequest, 'claim needs giftId, userId and orderId of [A-Za-z0-9_-]{1,128}');
    }
    return this.intake.run(() => this.claims.claim({ meta: meta(req), giftId: req.giftId, userId: req.userId, orderId: req.orderId }));
  }

  @MessagePattern(Patterns.PublishActivity)
  async publish(@Payload() req: PublishActivityRequest): Promise<Reply<PublishActivityReply>> {
    const config = activityConfigSchema.safeParse(req?.config);
    if (!req || !isId(req.activityId) || !config.success) {
      return fail(ErrorCode.BadRequest, 'publish needs an activityId and a valid configuration');
    }
    return this.intake.run(() => this.publisher.publish({ meta: meta(req), activityId: req.activityId, config: config.data, actor: actor(req), ...reasonOf(req) }));
  }

  /** A publish's dry run: the storage checks and the diff against what is stored; writes nothing. */
  @MessagePattern(Patterns.PlanActivity)
  async plan(@Payload() req: PlanActivityRequest): Promise<Reply<PlanActivityReply>> {
    const config = activityConfigSchema.safeParse(req?.config);
    if (!req || !isId(req.activityId) || !config.success) {
      return fail(ErrorCode.BadRequest, 'plan needs an activityId and a valid configuration');
    }
    return this.publisher.plan({ meta: meta(req), activityId: req.activityId, config: config.data });
  }

  @MessagePattern(Patterns.QueueCounts)
  async queueCounts(): Promise<Reply<QueueCountsReply>> {
    return ok(await this.queue.counts());
  }

  /** Circuit breakers of this instance's provider calls, one per provider origin (`GET /admin/breakers`). */
  @MessagePattern(Patterns.ProviderBreakers)
  providerBreakers(): Reply<{ breakers: BreakerSnapshot[] }> {
    return ok({ breakers: this.provider.snapshot() });
  }

  @MessagePattern(Patterns.QueueFailed)
  async queueFailed(@Payload() req: QueueFailedRequest): Promise<Reply<QueueFailedReply>> {
    const limit = Number.isInteger(req?.limit) && req.limit >= 1 && req.limit <= 200 ? req.limit : 50;
    return ok({ failed: await this.orders.deadLetters(limit) });
  }

  @MessagePattern(Patterns.DiscardFailed)
  async discardFailed(@Payload() req: DiscardFailedRequest): Promise<Reply<DiscardFailedReply>> {
    if (!req || !isId(req.orderId) || typeof req.reason !== 'string' || !req.reason.trim()) return fail(ErrorCode.BadRequest, 'discard needs an orderId and a reason');
    return this.intake.run(() => this.orders.discardFailed({ meta: meta(req), orderId: req.orderId, actor: actor(req), reason: req.reason.slice(0, 500) }));
  }

  @MessagePattern(Patterns.RetryFailed)
  async retryFailed(@Payload() req: RetryFailedRequest): Promise<Reply<OrderStatusReply>> {
    if (!req || !isId(req.orderId)) return fail(ErrorCode.BadRequest, 'retry needs an orderId');
    return this.intake.run(() => this.orders.retryFailed({ meta: meta(req), orderId: req.orderId, actor: actor(req), ...reasonOf(req) }));
  }

  @MessagePattern(Patterns.ResolveOrder)
  async resolve(@Payload() req: ResolveOrderRequest): Promise<Reply<OrderStatusReply>> {
    if (!req || !isId(req.orderId) || typeof req.delivered !== 'boolean' || typeof req.reason !== 'string') {
      return fail(ErrorCode.BadRequest, 'resolve needs an orderId, delivered (boolean) and a reason');
    }
    const resolve = { meta: meta(req), orderId: req.orderId, delivered: req.delivered, reason: req.reason.slice(0, 500), actor: actor(req) };
    return this.intake.run(() => this.orders.resolve(resolve));
  }
}
