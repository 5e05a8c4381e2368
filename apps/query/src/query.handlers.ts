import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ErrorCode,
  fail,
  ok,
  Patterns,
  type ActivityView,
  type GetActivityRequest,
  type GetGiftRequest,
  type GetOrderRequest,
  type GiftView,
  type ListActivitiesRequest,
  type ListUserOrdersReply,
  type ListUserOrdersRequest,
  type OrderView,
  type Reply,
} from '@app/contracts';
import { QUERY_CONFIG, type QueryConfig } from './config/query.config.js';
import { QueryRepository } from './query.repository.js';

/**
 * Read handlers (TCP). Input: a request with `meta`; output: `Reply<view>`, `NOT_FOUND` when absent.
 * Read-only, so every call is safe to repeat.
 */
@Controller()
export class QueryHandlers {
  constructor(
    private readonly repository: QueryRepository,
    @Inject(QUERY_CONFIG) private readonly config: QueryConfig,
  ) {}

  @MessagePattern(Patterns.Ping)
  ping(): Reply<{ pong: true }> {
    return ok({ pong: true });
  }

  @MessagePattern(Patterns.GetGift)
  async getGift(@Payload() req: GetGiftRequest): Promise<Reply<GiftView>> {
    await this.injectedDelay();
    const gift = await this.repository.gift(req.giftId);
    return gift ? ok(gift) : fail(ErrorCode.NotFound, `gift ${req.giftId} does not exist`);
  }

  @MessagePattern(Patterns.GetActivity)
  async getActivity(@Payload() req: GetActivityRequest): Promise<Reply<ActivityView>> {
    await this.injectedDelay();
    const activity = await this.repository.activity(req.activityId);
    return activity ? ok(activity) : fail(ErrorCode.NotFound, `activity ${req.activityId} does not exist`);
  }

  @MessagePattern(Patterns.ListActivities)
  async listActivities(@Payload() _req: ListActivitiesRequest): Promise<Reply<{ activities: ActivityView[] }>> {
    await this.injectedDelay();
    return ok({ activities: await this.repository.activities() });
  }

  @MessagePattern(Patterns.GetOrder)
  async getOrder(@Payload() req: GetOrderRequest): Promise<Reply<OrderView>> {
    await this.injectedDelay();
    const order = await this.repository.order(req.orderId, req.userId);
    return order ? ok(order) : fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
  }

  @MessagePattern(Patterns.ListUserOrders)
  async listUserOrders(@Payload() req: ListUserOrdersRequest): Promise<Reply<ListUserOrdersReply>> {
    await this.injectedDelay();
    return ok({ orders: await this.repository.userOrders(req.userId, req.limit) });
  }

  /** Test-only fault knob (`FAULT_DELAY_MS`): a slow instance, for routing and isolation tests. */
  private async injectedDelay(): Promise<void> {
    if (this.config.faultDelayMs > 0) await new Promise((r) => setTimeout(r, this.config.faultDelayMs));
  }
}
