import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  activityConfigSchema,
  type ClaimGiftReply,
  type ClaimGiftRequest,
  ErrorCode,
  fail,
  ID_PATTERN,
  ok,
  Patterns,
  type PublishActivityReply,
  type PublishActivityRequest,
  type Reply,
} from '@app/contracts';
import { PublishService } from './activities/publish.service.js';
import { ClaimService } from './claims/claim.service.js';

const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);

/**
 * TCP handlers of the delivery service. Input is re-checked here (the receiving edge), because
 * the transport accepts any JSON; a malformed message gets BAD_REQUEST, never an exception.
 */
@Controller()
export class DeliveryHandlers {
  constructor(
    private readonly claims: ClaimService,
    private readonly publisher: PublishService,
  ) {}

  @MessagePattern(Patterns.Ping)
  ping(): Reply<{ pong: true }> {
    return ok({ pong: true });
  }

  @MessagePattern(Patterns.ClaimGift)
  async claim(@Payload() req: ClaimGiftRequest): Promise<Reply<ClaimGiftReply>> {
    if (!req || !isId(req.giftId) || !isId(req.userId) || !isId(req.orderId)) {
      return fail(ErrorCode.BadRequest, 'claim needs giftId, userId and orderId of [A-Za-z0-9_-]{1,128}');
    }
    return this.claims.claim({ meta: { requestId: String(req.meta?.requestId ?? '') }, giftId: req.giftId, userId: req.userId, orderId: req.orderId });
  }

  @MessagePattern(Patterns.PublishActivity)
  async publish(@Payload() req: PublishActivityRequest): Promise<Reply<PublishActivityReply>> {
    const config = activityConfigSchema.safeParse(req?.config);
    if (!req || !isId(req.activityId) || !config.success) {
      return fail(ErrorCode.BadRequest, 'publish needs an activityId and a valid configuration');
    }
    return this.publisher.publish({ ...req, config: config.data, actor: String(req.actor ?? 'unknown') });
  }
}
