import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { Metrics } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { DurabilityFence } from '../lifecycle/durability-fence.js';
import type { OrderRef } from '../lifecycle/order-binding.store.js';
import { OrderStore, type ProviderTarget } from '../lifecycle/order.store.js';
import type { LifecycleStatus } from '../lifecycle/order-transitions.js';
import { GuardedProvider } from '../provider/guarded-provider.js';
import type { ProviderOutcome } from '../provider/provider.client.js';

/** An order being worked on, with the request that started the work (for logs). */
export interface AttemptOrder extends OrderRef {
  requestId: string;
}

export interface AttemptResult {
  /** The order's status after the attempt (or, when `lost`, as another actor left it). */
  status: LifecycleStatus;
  /** The attempt lost the order to a newer one (or a recovery) and changed nothing. */
  lost: boolean;
  reason?: string;
  /** Why a `failed` order failed: the provider refused it (4xx), or the tries ran out. */
  failure?: 'refused' | 'exhausted';
}

/**
 * One fenced provider attempt of an order its caller took (status `delivering`, epoch `epoch`):
 * the lease is renewed while it runs, the send is recorded before the request goes out (by the take
 * itself when the request leaves in the same turn, else just before it; for a provider without order
 * numbers behind a durability fence, made durable on a replica), and the result is committed only if
 * the order is still at this epoch. So a worker that stalled past its lease before its send was
 * recorded cannot call the provider, none can overwrite what a newer attempt did, and an order whose
 * send was recorded is sent again only to a provider with order numbers.
 *
 * - 2xx: `delivered`. 4xx: `failed`, reservation released.
 * - Not sent, or 5xx: nothing was delivered; `queued` (or `failed` on the final attempt).
 * - Sent but no answer: with order numbers a re-send is the same delivery, so `queued` (even on the
 *   final attempt: it may have been delivered); without them it may have been delivered:
 *   `uncertain`, never re-sent automatically, counted per user.
 */
@Injectable()
export class OrderDeliverer {
  private readonly logger = new Logger(OrderDeliverer.name);
  private readonly outcomes: Counter<'outcome'>;
  private readonly fenceSeconds: Histogram<'result'>;

  constructor(
    private readonly orders: OrderStore,
    private readonly provider: GuardedProvider,
    private readonly fence: DurabilityFence,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    metrics: Metrics,
  ) {
    this.outcomes = metrics.counter('rampart_deliveries_total', 'Delivery attempts by the status they left the order in', ['outcome']);
    this.fenceSeconds = metrics.histogram(
      'rampart_durability_fence_seconds',
      'Time to record an attempt\'s send on a replica (Redis WAIT) before calling a provider without order numbers',
      ['result'],
    );
  }

  /**
   * `sentMarked`: the take already recorded this attempt's send (start-claim.lua, take-attempt.lua)
   * and no earlier attempt of the order was sent. The call then goes out without a record of its own
   * when it can go at once (a free slot in the provider's bulkhead; checked in the same turn as the
   * call takes it); if it would wait for a slot, the take's record is cleared first and the call
   * records its send just before it goes, as any other; a call that was not sent clears it as it
   * requeues the order.
   */
  async attempt(
    order: AttemptOrder,
    epoch: number,
    target: ProviderTarget,
    opts: { actor: 'claim' | 'worker'; finalAttempt: boolean; sentMarked?: boolean },
  ): Promise<AttemptResult> {
    const renewal = setInterval(() => {
      this.orders.hold(order, epoch, { markSent: false }).catch(() => undefined);
    }, Math.max(100, Math.floor(this.config.attemptLeaseMs / 3)));
    try {
      const { orderId, userId, giftId } = order;
      let sentByTake = opts.sentMarked === true;
      if (sentByTake && !this.provider.sendsAtOnce(target.providerUrl)) {
        sentByTake = false;
        // Unreachable Redis: the record stays (the order then looks sent: safe), and the call's own
        // record below fails too, so it is not sent.
        await this.orders.hold(order, epoch, { markSent: false, unmarkSent: true }).catch(() => undefined);
      }
      const recordSend = sentByTake ? undefined : () => this.recordSend(order, epoch, target);
      const outcome = await this.provider.deliver(target.providerUrl, { orderId, userId, giftId, quantity: 1 }, recordSend);
      const result = await this.commit(order, epoch, target, outcome, { ...opts, sentByTake });
      this.outcomes.inc({ outcome: result.lost ? 'lost' : result.status });
      return result;
    } finally {
      clearInterval(renewal);
    }
  }

  /** The pre-call check: still this attempt's order, send recorded (durably when it must be). */
  private async recordSend(order: OrderRef, epoch: number, target: ProviderTarget): Promise<boolean> {
    const replicas = target.orderNumbers ? 0 : this.fence.replicas();
    if (!replicas) return this.orders.hold(order, epoch, { markSent: true });
    const stop = this.fenceSeconds.startTimer();
    try {
      const owns = await this.orders.hold(order, epoch, { markSent: true, replicas, fenceTimeoutMs: this.config.fenceTimeoutMs });
      stop({ result: 'ok' });
      return owns;
    } catch (err) {
      stop({ result: 'failed' });
      throw err;
    }
  }

  private async commit(
    order: AttemptOrder,
    epoch: number,
    target: ProviderTarget,
    outcome: ProviderOutcome,
    opts: { actor: 'claim' | 'worker'; finalAttempt: boolean; sentByTake: boolean },
  ): Promise<AttemptResult> {
    const { actor } = opts;
    switch (outcome.kind) {
      case 'delivered': {
        const fields = { providerRef: outcome.providerRef ?? '', error: '' };
        let moved = await this.orders.move(order, 'delivering', 'delivered', actor, { epoch, fields });
        // A recovery may have moved the order on while this call ran; the confirmation still holds
        // at this epoch (nothing newer was attempted).
        if (!moved.moved && 'status' in moved && moved.epoch === epoch && (moved.status === 'queued' || moved.status === 'uncertain')) {
          moved = await this.orders.move(order, moved.status, 'delivered', actor, { epoch, fields, reason: 'late confirmation' });
        }
        return this.result(order, moved, 'delivered');
      }
      case 'refused':
        this.logger.warn({ event: 'order.failed', orderId: order.orderId, requestId: order.requestId, reason: outcome.reason });
        return this.result(order, await this.orders.move(order, 'delivering', 'failed', actor, { epoch, reason: outcome.reason, fields: { error: outcome.reason, failure: 'refused' } }), 'failed', outcome.reason, 'refused');
      case 'unknown':
        if (!target.orderNumbers) {
          this.logger.warn({ event: 'order.uncertain', orderId: order.orderId, requestId: order.requestId, reason: outcome.reason });
          return this.result(order, await this.orders.move(order, 'delivering', 'uncertain', actor, { epoch, reason: outcome.reason, fields: { error: outcome.reason } }), 'uncertain', outcome.reason);
        }
        // With order numbers an unanswered request is safe to send again; and it may have been
        // delivered, so it is never failed for running out of tries.
        return this.result(
          order,
          await this.orders.move(order, 'delivering', 'queued', actor, { epoch, reason: outcome.reason, fields: { error: outcome.reason, maybeDelivered: '1' } }),
          'queued',
          outcome.reason,
        );
      case 'not-sent':
      case 'failed': {
        const to = opts.finalAttempt ? 'failed' : 'queued';
        const reason = opts.finalAttempt ? `gave up: ${outcome.reason}` : outcome.reason;
        // A failed order records why (`failure`): the dead-letter listing tells refused from exhausted by it.
        const fields: Record<string, string> = opts.finalAttempt ? { error: reason, failure: 'exhausted' } : { error: reason };
        // Not sent: the send record its take made goes (the order was never sent before it).
        if (outcome.kind === 'not-sent' && opts.sentByTake) fields.sentEpoch = '0';
        return this.result(order, await this.orders.move(order, 'delivering', to, actor, { epoch, reason, fields }), to, outcome.reason, opts.finalAttempt ? 'exhausted' : undefined);
      }
    }
  }

  private result(order: AttemptOrder, moved: Awaited<ReturnType<OrderStore['move']>>, to: LifecycleStatus, reason?: string, failure?: AttemptResult['failure']): AttemptResult {
    if (moved.moved) return { status: to, lost: false, ...(reason ? { reason } : {}), ...(failure ? { failure } : {}) };
    const status = 'status' in moved && moved.status ? moved.status : to;
    this.logger.warn({ event: 'attempt.lost', orderId: order.orderId, requestId: order.requestId, wanted: to, status });
    return { status, lost: true };
  }
}
