import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import {
  Patterns,
  type OrderStatusReply,
  type QueueCountsReply,
  type QueueFailedReply,
  type QueueFailedRequest,
  type ResolveOrderRequest,
  type RetryFailedRequest,
} from '@app/contracts';
import { AuditLog, type AuditEntry } from '@app/platform';
import { Actor } from '../auth/actor.decorator.js';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** Request schemas of these routes; also the OpenAPI document's (openapi/admin.operations.ts). */
export const resolveBody = z.strictObject({
  delivered: z.boolean(),
  reason: z.string().trim().min(1).max(500),
});
export const failedQuery = z.strictObject({
  limit: z.string().regex(/^\d{1,3}$/, 'must be an integer 1-200').transform(Number).pipe(z.number().min(1).max(200)).default(50),
});
export const auditQuery = z.strictObject({
  limit: z.string().regex(/^\d{1,4}$/, 'must be an integer 1-1000').transform(Number).pipe(z.number().min(1).max(1_000)).default(100),
});

/**
 * Operator actions on the delivery queue and on orders (contract section 3), and the audit log.
 * Every change is audited by the delivery service with the actor and reason.
 */
@Controller('admin')
@UseGuards(AdminAuthGuard)
export class AdminOperationsController {
  constructor(
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly audit: AuditLog,
  ) {}

  /** `GET /admin/queues`: counts of the delivery queue. */
  @Get('queues')
  queues(@RequestId() requestId: string): Promise<QueueCountsReply> {
    return this.delivery.call<QueueCountsReply>(Patterns.QueueCounts, { meta: { requestId } }, this.options(true));
  }

  /** `GET /admin/queues/failed?limit=`: the dead-lettered orders, newest first (default 50, at most 200). */
  @Get('queues/failed')
  queueFailed(@Query() query: unknown, @RequestId() requestId: string): Promise<QueueFailedReply> {
    const { limit } = parseStrict(failedQuery, { ...(query as object) }, 'query');
    const request: QueueFailedRequest = { meta: { requestId }, limit };
    return this.delivery.call<QueueFailedReply>(Patterns.QueueFailed, request, this.options(true));
  }

  /** `POST /admin/queues/failed/{orderId}/retry`: re-queues a dead-lettered order. */
  @Post('queues/failed/:orderId/retry')
  @HttpCode(200)
  retry(@Param('orderId') orderId: string, @Actor() actor: string, @RequestId() requestId: string): Promise<OrderStatusReply> {
    const request: RetryFailedRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`), actor };
    return this.delivery.call<OrderStatusReply>(Patterns.RetryFailed, request, this.options(false));
  }

  /** `POST /admin/orders/{orderId}/resolve`: settles an uncertain order (`delivered: false` releases it). */
  @Post('orders/:orderId/resolve')
  @HttpCode(200)
  resolve(@Param('orderId') orderId: string, @Body() body: unknown, @Actor() actor: string, @RequestId() requestId: string): Promise<OrderStatusReply> {
    const { delivered, reason } = parseStrict(resolveBody, body, 'body');
    const request: ResolveOrderRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`), delivered, reason, actor };
    return this.delivery.call<OrderStatusReply>(Patterns.ResolveOrder, request, this.options(false));
  }

  /** `GET /admin/audit?limit=`: operator changes, newest first (default 100, at most 1000). */
  @Get('audit')
  async auditLog(@Query() query: unknown): Promise<{ entries: AuditEntry[] }> {
    const { limit } = parseStrict(auditQuery, { ...(query as object) }, 'query');
    return { entries: await this.audit.list(limit) };
  }

  private options(isRead: boolean) {
    return { timeoutMs: isRead ? this.config.timeouts.fastMs : this.config.timeouts.slowMs, retryOnOtherInstance: isRead };
  }
}
