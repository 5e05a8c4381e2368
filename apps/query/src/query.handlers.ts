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
  type RecommendationsReply,
  type RecommendationsRequest,
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
  ping(): Reply<{ pong: true; release: string }> {
    // The release rides the ping: a gateway learns it from instances it knows only by address.
    return ok({ pong: true, release: this.config.release });
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
    return ok({ orders: await this.repository.userOrders(req.userId, req.limit, { withArchive: true }) });
  }

  /**
   * Gifts of activities open now that the user may still claim (inventory and today's quota left,
   * fewer non-failed orders than `perUserLimit`), most remaining first, then by id; at most `limit`.
   * Read-only; the gateway treats it as non-essential (left out of the overview when slow).
   */
  @MessagePattern(Patterns.Recommendations)
  async recommendations(@Payload() req: RecommendationsRequest): Promise<Reply<RecommendationsReply>> {
    await this.injectedDelay(this.config.faultRecommendationsDelayMs);
    const nowMs = Date.now();
    const [activities, orders] = await Promise.all([this.repository.activities(), this.repository.userOrders(req.userId, 200)]);
    const held = new Map<string, number>();
    for (const order of orders) if (order.status !== 'failed') held.set(order.giftId, (held.get(order.giftId) ?? 0) + 1);
    const gifts = activities
      .filter((a) => Date.parse(a.startsAt) <= nowMs && nowMs < Date.parse(a.endsAt))
      .flatMap((a) => a.gifts)
      .filter((g) => g.remaining > 0 && g.dailyRemaining > 0 && (held.get(g.giftId) ?? 0) < g.perUserLimit)
      .sort((x, y) => y.remaining - x.remaining || x.giftId.localeCompare(y.giftId));
    return ok({ gifts: gifts.slice(0, Math.max(0, Math.min(req.limit, 20))) });
  }

  /** Test-only fault knobs: `FAULT_DELAY_MS` (every message: a slow instance) plus `extraMs` (one handler's own knob). */
  private async injectedDelay(extraMs = 0): Promise<void> {
    const ms = this.config.faultDelayMs + extraMs;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}
