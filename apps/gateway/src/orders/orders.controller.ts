import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { Patterns, type GetOrderRequest, type ListUserOrdersReply, type ListUserOrdersRequest, type OrderView } from '@app/contracts';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** Most orders `GET /api/me/orders` returns by default, and at most. */
export const ORDERS_LIMIT = { default: 50, max: 200 } as const;

/** `GET /api/me/orders` query; also the OpenAPI document's (openapi/user.operations.ts). */
export const listQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be an integer 1-${ORDERS_LIMIT.max}`)
    .transform(Number)
    .pipe(z.number().min(1).max(ORDERS_LIMIT.max))
    .default(ORDERS_LIMIT.default),
});

/** The caller's own orders (query, fast class). Another user's order is a 404, as if it did not exist. */
@Controller('api')
@UseGuards(UserAuthGuard)
export class OrdersController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
  ) {}

  @Get('orders/:orderId')
  getOrder(@Param('orderId') orderId: string, @UserId() userId: string, @RequestId() requestId: string): Promise<OrderView> {
    const request: GetOrderRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`), userId };
    return this.query.call<OrderView>(Patterns.GetOrder, request, { userId }); // route order.get: fast, retried; sticky by user in a gray release
  }

  @Get('me/orders')
  listOrders(@Query() query: unknown, @UserId() userId: string, @RequestId() requestId: string): Promise<ListUserOrdersReply> {
    const { limit } = parseStrict(listQuery, { ...(query as object) }, 'query');
    const request: ListUserOrdersRequest = { meta: { requestId }, userId, limit };
    return this.query.call<ListUserOrdersReply>(Patterns.ListUserOrders, request, { userId }); // route order.list-for-user: fast, retried; sticky by user
  }
}
