import { Controller, Get, HttpCode, Inject, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isTerminalStatus, Patterns, RedisKeys, type GetOrderRequest, type OrderStatus, type OrderView } from '@app/contracts';
import { EventTickets } from '../auth/event-tickets.js';
import { OrderEventsAuthGuard } from '../auth/order-events-auth.guard.js';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import { pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';
import { OrderEventsHub } from './order-events.hub.js';
import { StatusSequence } from './status-sequence.js';

/** A comment line sent this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/** A stream ends after this long even if the order is not settled; the client reconnects. */
const MAX_STREAM_MS = 10 * 60_000;
/** How long a browser's EventSource waits before it reconnects (the SSE `retry:` field). */
const RECONNECT_MS = 3_000;

/**
 * `GET /api/orders/{orderId}/events`: server-sent events, one per status change, starting with the
 * current status and ending after a terminal one (`delivered`, `failed`). Subscribes first, then
 * reads the order, so no change between the read and the subscription is missed; StatusSequence
 * drops announcements no newer than what was sent, so the stream never goes backwards. Each event
 * carries `id:` (the order's version) and the stream opens with `retry:`. A browser's EventSource,
 * which cannot send headers, authenticates with `?ticket=` (see `ticket()`).
 */
@Controller('api/orders')
export class OrderEventsController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly hub: OrderEventsHub,
    private readonly keys: RedisKeys,
    private readonly tickets: EventTickets,
  ) {}

  /**
   * `POST /api/orders/{orderId}/events/ticket` (owner only; another user's order is 404): a ticket
   * for this order's event stream, valid for EVENT_TICKET_TTL_S (60 s).
   */
  @Post(':orderId/events/ticket')
  @HttpCode(200)
  @UseGuards(UserAuthGuard)
  async ticket(@Param('orderId') orderId: string, @UserId() userId: string, @RequestId() requestId: string): Promise<{ ticket: string; expiresAt: string }> {
    const request: GetOrderRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`), userId };
    await this.query.call<OrderView>(Patterns.GetOrder, request, { timeoutMs: this.config.timeouts.fastMs, retryOnOtherInstance: true });
    return this.tickets.issue(userId, orderId);
  }

  @Get(':orderId/events')
  @UseGuards(OrderEventsAuthGuard)
  async events(@Param('orderId') orderId: string, @UserId() userId: string, @RequestId() requestId: string, @Res() reply: FastifyReply): Promise<void> {
    const request: GetOrderRequest = { meta: { requestId }, orderId: pathId(orderId, `order ${orderId}`), userId };
    const read = () => this.query.call<OrderView>(Patterns.GetOrder, request, { timeoutMs: this.config.timeouts.fastMs, retryOnOtherInstance: true });
    await read(); // 404 (as the error shape) before any stream starts

    const pending: string[] = [];
    let deliver: (message: string) => void = (message) => pending.push(message);
    const stop = await this.hub.listen(this.keys.orderEvents(orderId), (message) => deliver(message));
    const current = await read().catch(async (err: unknown) => {
      await stop();
      throw err;
    });

    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-request-id': requestId,
      'x-accel-buffering': 'no',
    });
    const sequence = new StatusSequence();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(limit);
      void stop();
      raw.end();
    };
    const send = (status: OrderStatus | undefined) => {
      if (ended || !status) return;
      raw.write(`id: ${sequence.version}\nevent: status\ndata: ${JSON.stringify({ orderId, status })}\n\n`);
      if (isTerminalStatus(status)) end();
    };
    raw.write(`retry: ${RECONNECT_MS}\n\n`);
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const limit = setTimeout(end, MAX_STREAM_MS);
    raw.on('close', end);
    deliver = (message: string) => send(sequence.nextFromMessage(message));
    send(sequence.next(current.version, current.status));
    for (const message of pending) deliver(message);
  }
}
