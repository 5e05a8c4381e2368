import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type AdminActivityView,
  type AdminGetActivityRequest,
  type AdminGetOrderRequest,
  type AdminListOrdersRequest,
  type AdminOrderList,
  type AdminOrderView,
  ErrorCode,
  fail,
  ID_PATTERN,
  STORED_GIFT_ID_PATTERN,
  ok,
  OrderStatuses,
  Patterns,
  type Reply,
} from '@app/contracts';
import { AdminRepository } from './admin.repository.js';

const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);
const isOptionalId = (value: unknown) => value === undefined || isId(value);

/**
 * The operators' read handlers (TCP): orders of any user, one order with its history, an activity
 * with its consumption. Input re-checked here (the receiving edge); read-only, safe to repeat.
 */
@Controller()
export class AdminHandlers {
  constructor(private readonly repository: AdminRepository) {}

  @MessagePattern(Patterns.AdminListOrders)
  async listOrders(@Payload() req: AdminListOrdersRequest): Promise<Reply<AdminOrderList>> {
    const limitOk = Number.isInteger(req?.limit) && req.limit >= 1 && req.limit <= 100;
    const statusOk = req?.status === undefined || (OrderStatuses as readonly string[]).includes(req.status);
    const cursorOk = req?.cursor === undefined || (typeof req.cursor === 'object' && Number.isFinite(req.cursor.s) && isId(req.cursor.o) && (req.cursor.g === undefined || STORED_GIFT_ID_PATTERN.test(req.cursor.g)));
    if (!req || !limitOk || !statusOk || !cursorOk || !isOptionalId(req.giftId) || !isOptionalId(req.userId)) {
      return fail(ErrorCode.BadRequest, 'order listing needs limit 1-100 and valid filters');
    }
    const { status, giftId, userId, limit, cursor } = req;
    return ok(await this.repository.listOrders({ status, giftId, userId, limit, cursor }));
  }

  @MessagePattern(Patterns.AdminGetOrder)
  async getOrder(@Payload() req: AdminGetOrderRequest): Promise<Reply<AdminOrderView>> {
    if (!req || !isId(req.orderId)) return fail(ErrorCode.BadRequest, 'order read needs an orderId');
    const order = await this.repository.order(req.orderId);
    return order ? ok(order) : fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
  }

  @MessagePattern(Patterns.AdminGetActivity)
  async getActivity(@Payload() req: AdminGetActivityRequest): Promise<Reply<AdminActivityView>> {
    if (!req || !isId(req.activityId)) return fail(ErrorCode.BadRequest, 'activity read needs an activityId');
    const activity = await this.repository.activity(req.activityId);
    return activity ? ok(activity) : fail(ErrorCode.NotFound, `activity ${req.activityId} does not exist`);
  }
}
