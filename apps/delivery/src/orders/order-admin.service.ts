import { Injectable, Logger } from '@nestjs/common';
import {
  type DeadLetter,
  type DiscardFailedReply,
  type DiscardFailedRequest,
  ErrorCode,
  fail,
  giftBuckets,
  ok,
  type OrderStatusReply,
  type Reply,
  type ResolveOrderRequest,
  type RetryFailedRequest,
} from '@app/contracts';
import { AuditLog } from '@app/platform';
import { BucketRebalancer } from '../inventory/bucket.rebalancer.js';
import { OrderBindingStore } from '../lifecycle/order-binding.store.js';
import { OrderStore, type OrderState } from '../lifecycle/order.store.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';

/**
 * Operator actions on orders: settle an uncertain one, re-queue or discard a dead-lettered one, and
 * the dead-letter listing (refused vs exhausted, from the failed order's state). Audited. Each
 * is one lifecycle move from the status the operator's request found, so of concurrent actions on
 * one order exactly one succeeds and the others get 409.
 */
@Injectable()
export class OrderAdminService {
  private readonly logger = new Logger(OrderAdminService.name);

  constructor(
    private readonly bindings: OrderBindingStore,
    private readonly orders: OrderStore,
    private readonly queue: DeliveryQueue,
    private readonly audit: AuditLog,
    private readonly rebalancer: BucketRebalancer,
  ) {}

  /**
   * `uncertain` -> `delivered` (the provider confirmed it) or `failed` (it did not deliver: the
   * reservation is released). Either way the user's uncertain count drops by one, in the same step.
   */
  async resolve(req: ResolveOrderRequest): Promise<Reply<OrderStatusReply>> {
    const state = await this.find(req.orderId);
    if (!state) return fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
    if (state.status !== 'uncertain') return fail(ErrorCode.Conflict, `order ${req.orderId} is ${state.status}, not uncertain`);
    const to = req.delivered ? 'delivered' : 'failed';
    const reason = `resolved by ${req.actor}: ${req.reason}`;
    const moved = await this.orders.move(state, 'uncertain', to, 'operator', { reason, fields: { resolvedBy: req.actor, ...(req.delivered ? { error: '' } : { error: reason }) } });
    if (!moved.moved) return fail(ErrorCode.Conflict, `order ${req.orderId} is ${'status' in moved ? moved.status : state.status}, not uncertain`);
    await this.audit.record({ actor: req.actor, action: req.delivered ? 'order.resolve.delivered' : 'order.resolve.failed', target: req.orderId, reason: req.reason });
    this.logger.log({ event: 'order.resolved', orderId: req.orderId, status: to, requestId: req.meta.requestId });
    return ok({ orderId: req.orderId, status: to });
  }

  /**
   * Re-queues a failed (dead-lettered) order: its reservation is taken back in the same step, under
   * the claim rules (409 USER_LIMIT_REACHED, SOLD_OUT or DAILY_LIMIT_REACHED; a retryable 503 while a
   * split gift's stock is moved to the order's empty bucket), then its job runs again.
   */
  async retryFailed(req: RetryFailedRequest): Promise<Reply<OrderStatusReply>> {
    const state = await this.find(req.orderId);
    if (!state) return fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
    if (state.status !== 'failed') return fail(ErrorCode.Conflict, `order ${req.orderId} is ${state.status}, not failed`);
    const moved = await this.orders.move(state, 'failed', 'queued', 'operator', { reason: `re-queued by ${req.actor}`, fields: { error: '', failure: '' } });
    if (!moved.moved && 'refused' in moved) {
      const giftId = giftBuckets.giftOf(state.giftId);
      if (moved.refused === 'REBALANCING') {
        this.rebalancer.poke(giftId);
        return fail(ErrorCode.ServiceUnavailable, `order ${req.orderId} cannot take its unit back yet: stock of gift ${giftId} is being moved to its share; retry shortly`, { retryable: true });
      }
      return fail(moved.refused as ErrorCode, `order ${req.orderId} cannot take its unit back: ${moved.refused} for gift ${giftId}`);
    }
    if (!moved.moved) return fail(ErrorCode.Conflict, `order ${req.orderId} is ${moved.status}, not failed`);
    // The order is queued and watched: if the job cannot be re-run now, the reconciler does it.
    await this.queue.ensureJob(state, req.meta.requestId).catch((err: unknown) =>
      this.logger.warn({ event: 'enqueue.failed', orderId: req.orderId, error: (err as Error).message }),
    );
    await this.audit.record({ actor: req.actor, action: 'queue.retry', target: req.orderId, reason: req.reason ?? '' });
    return ok({ orderId: req.orderId, status: 'queued' });
  }

  /**
   * The newest dead letters, each saying why its order failed: `refused` (the provider answered
   * 4xx) or `exhausted` (its tries ran out). The order's `failure` field says it (written by the
   * move to failed); an order failed before that field existed counts as exhausted.
   */
  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const jobs = await this.queue.failed(limit);
    return Promise.all(
      jobs.map(async (job) => {
        const ref = job.giftId ? { giftId: job.giftId } : await this.bindings.binding(job.orderId);
        const state = ref && (await this.orders.state(ref.giftId, job.orderId));
        return { orderId: job.orderId, reason: state?.failure ?? 'exhausted', error: job.error, attempts: job.attempts, failedAt: job.failedAt };
      }),
    );
  }

  /**
   * Drops a dead letter: the job leaves the failed set, the order stays `failed` (its reservation
   * was released when it failed). 404 when the order has no dead letter. Audited with the reason.
   */
  async discardFailed(req: DiscardFailedRequest): Promise<Reply<DiscardFailedReply>> {
    const state = await this.find(req.orderId);
    if (!state) return fail(ErrorCode.NotFound, `order ${req.orderId} does not exist`);
    // A retry racing this discard moves the order to queued before it touches the job; should the
    // discard remove the job in between, the order is queued without a job, which the reconciler
    // notices (RECONCILE_QUEUED_AFTER_MS) and gives a new one: nothing is lost or sent twice.
    if (!(await this.queue.discardFailed(req.orderId))) return fail(ErrorCode.NotFound, `order ${req.orderId} is not dead-lettered`);
    await this.audit.record({ actor: req.actor, action: 'queue.discard', target: req.orderId, reason: req.reason });
    this.logger.log({ event: 'dead-letter.discarded', orderId: req.orderId, status: state.status, requestId: req.meta.requestId });
    return ok({ orderId: req.orderId, status: 'failed', discarded: true });
  }

  private async find(orderId: string): Promise<OrderState | undefined> {
    const ref = await this.bindings.binding(orderId);
    const state = ref && (await this.orders.state(ref.giftId, orderId));
    return state && state.status !== 'refused' ? state : undefined;
  }
}
