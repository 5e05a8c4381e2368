import { Injectable, Logger } from '@nestjs/common';
import {
  ErrorCode,
  fail,
  ok,
  type OrderStatusReply,
  type Reply,
  type ResolveOrderRequest,
  type RetryFailedRequest,
} from '@app/contracts';
import { AuditLog } from '@app/platform';
import { ClaimStore } from '../claims/claim.store.js';
import { OrderDeliverer } from '../deliveries/order-deliverer.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';

/** Operator actions on orders: settle an uncertain one, re-queue a dead-lettered one. Audited. */
@Injectable()
export class OrderAdminService {
  private readonly logger = new Logger(OrderAdminService.name);

  constructor(
    private readonly store: ClaimStore,
    private readonly deliverer: OrderDeliverer,
    private readonly queue: DeliveryQueue,
    private readonly audit: AuditLog,
  ) {}

  /**
   * `uncertain` -> `delivered` (the provider confirmed it) or `failed` (it did not deliver: the
   * reservation is released). Either way the user's uncertain count drops by one.
   */
  async resolve(req: ResolveOrderRequest): Promise<Reply<OrderStatusReply>> {
    const record = await this.store.orderRecord(req.orderId);
    if (!record.orderId || record.refusal || record.status === 'new') return fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
    if (record.status !== 'uncertain') {
      return fail(ErrorCode.Conflict, `order ${req.orderId} is ${record.status}, not uncertain`);
    }
    const order = { orderId: req.orderId, userId: record.userId, giftId: record.giftId, requestId: req.meta.requestId };
    if (req.delivered) {
      const moved = await this.store.transition(req.orderId, ['uncertain'], 'delivered', { nowMs: Date.now(), fields: { resolvedBy: req.actor } });
      if (!moved.moved) return fail(ErrorCode.Conflict, `order ${req.orderId} is ${moved.status}, not uncertain`);
    } else {
      await this.deliverer.fail(order, { day: record.reservedDay }, `resolved by operator: ${req.reason}`, ['uncertain']);
    }
    await this.store.uncountUncertain(record.giftId, record.userId);
    await this.audit.record({ actor: req.actor, action: req.delivered ? 'order.resolve.delivered' : 'order.resolve.failed', target: req.orderId, reason: req.reason });
    const status = req.delivered ? 'delivered' : 'failed';
    this.logger.log({ event: 'order.resolved', orderId: req.orderId, status, requestId: req.meta.requestId });
    return ok({ orderId: req.orderId, status });
  }

  /** Re-queues a dead-lettered order: its reservation is taken back first (409 SOLD_OUT if gone). */
  async retryFailed(req: RetryFailedRequest): Promise<Reply<OrderStatusReply>> {
    const record = await this.store.orderRecord(req.orderId);
    if (!record.orderId || record.status !== 'failed') {
      return fail(ErrorCode.NotFound, `order ${req.orderId} is not in the dead-letter set`);
    }
    // The worker fails the order just before its job reaches the failed set: until the job is
    // there (or if it is still waiting), re-queueing now would leave the order with no live job.
    const jobState = await this.queue.jobState(req.orderId);
    if (jobState !== undefined && jobState !== 'failed' && jobState !== 'completed') {
      return fail(ErrorCode.Conflict, `order ${req.orderId} is still being dead-lettered (job ${jobState}); try again in a moment`, { retryable: true });
    }
    const held = await this.store.rereserve(req.orderId, record.userId, record.giftId, record.reservedDay);
    if (held === 'SOLD_OUT') return fail(ErrorCode.SoldOut, `gift ${record.giftId} has no inventory left for order ${req.orderId}`);
    if (held === 'NOT_FOUND') return fail(ErrorCode.NotFound, `order ${req.orderId} has no reservation to restore`);
    await this.store.transition(req.orderId, ['failed'], 'queued', { nowMs: Date.now(), error: '' });
    if (!(await this.queue.retryFailed(req.orderId))) await this.queue.enqueueAgain(req.orderId, req.meta.requestId);
    await this.audit.record({ actor: req.actor, action: 'queue.retry', target: req.orderId, reason: 'dead letter re-queued' });
    return ok({ orderId: req.orderId, status: 'queued' });
  }
}
