import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import {
  type AdminGetOrderRequest,
  type AdminListOrdersRequest,
  type AdminOrderList,
  type AdminOrderView,
  decodeOrderCursor,
  giftBuckets,
  ID_PATTERN,
  OrderStatuses,
  Patterns,
} from '@app/contracts';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** Orders per page of `GET /admin/orders`: default and most. */
export const ADMIN_ORDERS_LIMIT = { default: 20, max: 100 } as const;

const id = z.string().regex(ID_PATTERN, 'must be 1-128 characters of [A-Za-z0-9_-]');

/** `GET /admin/orders` query string: filters, page size and the opaque cursor of the previous page. */
export const adminOrdersQuery = z
  .strictObject({
    status: z.enum(OrderStatuses).optional().meta({ description: 'Only orders in this status; `uncertain` is the work list.' }),
    giftId: id.optional().meta({ description: 'Only this gift\'s orders.' }),
    userId: id.optional().meta({ description: 'Only this user\'s orders (newest first, across gifts).' }),
    limit: z
      .string()
      .regex(/^\d{1,3}$/, `must be an integer 1-${ADMIN_ORDERS_LIMIT.max}`)
      .transform(Number)
      .pipe(z.number().min(1).max(ADMIN_ORDERS_LIMIT.max))
      .default(ADMIN_ORDERS_LIMIT.default)
      .meta({ description: `Orders per page, 1-${ADMIN_ORDERS_LIMIT.max} (default ${ADMIN_ORDERS_LIMIT.default}).` }),
    cursor: z
      .string()
      .transform((text, ctx) => {
        const cursor = decodeOrderCursor(text);
        if (!cursor) ctx.addIssue({ code: 'custom', message: 'not a cursor of this listing' });
        return cursor ?? z.NEVER;
      })
      .optional()
      .meta({ description: 'The previous page\'s `nextCursor`, with the same filters.' }),
  })
  .superRefine((q, ctx) => {
    // A cursor continues the listing it came from: same kind of walk (by user or by gift).
    if (!q.cursor) return;
    const ofUser = q.cursor.m === 'u';
    // A split gift's listing walks its buckets: its cursor names the bucket it stopped in.
    if (ofUser !== (q.userId !== undefined) || (q.giftId !== undefined && !ofUser && giftBuckets.giftOf(q.cursor.g ?? '') !== q.giftId)) {
      ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'the cursor belongs to a listing with other filters' });
    }
  });

/**
 * The operators' order reads (contract section 3), from the query service: any order of any user,
 * filtered and paged by cursor (`status=uncertain` is the work list), and one order with its history.
 */
@Controller('admin/orders')
@UseGuards(AdminAuthGuard)
export class AdminOrdersController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** `GET /admin/orders?status=&giftId=&userId=&limit=&cursor=` → `{ orders, nextCursor? }`, newest first per gift. */
  @Get()
  list(@Query() query: unknown, @RequestId() requestId: string): Promise<AdminOrderList> {
    const { status, giftId, userId, limit, cursor } = parseStrict(adminOrdersQuery, { ...(query as object) }, 'query');
    const request: AdminListOrdersRequest = {
      meta: { requestId }, limit,
      ...(status ? { status } : {}), ...(giftId ? { giftId } : {}), ...(userId ? { userId } : {}), ...(cursor ? { cursor } : {}),
    };
    return this.query.call<AdminOrderList>(Patterns.AdminListOrders, request, this.options());
  }

  /** `GET /admin/orders/{orderId}` → the order (with userId) and its `history`; 404 when unknown. */
  @Get(':orderId')
  get(@Param('orderId') orderId: string, @RequestId() requestId: string): Promise<AdminOrderView> {
    const request: AdminGetOrderRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`) };
    return this.query.call<AdminOrderView>(Patterns.AdminGetOrder, request, this.options());
  }

  private options() {
    return { timeoutMs: this.config.timeouts.fastMs, retryOnOtherInstance: true };
  }
}
