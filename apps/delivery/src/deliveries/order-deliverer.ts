import { Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { Metrics } from '@app/platform';
import { ClaimStore } from '../claims/claim.store.js';
import { GuardedProvider } from '../provider/guarded-provider.js';

/** The order an attempt is for. */
export interface OrderRef {
  orderId: string;
  userId: string;
  giftId: string;
  requestId: string;
}

/** Where the gift goes and how its provider behaves. */
export interface ProviderTarget {
  providerUrl: string;
  orderNumbers: boolean;
  /** UTC day of the reservation (to release it). */
  day: string;
}

export type AttemptResult =
  | { status: 'delivered' }
  | { status: 'failed'; reason: string }
  | { status: 'uncertain'; reason: string }
  /** Not delivered, safe to send again: the caller hands the order to the queue (or retries it). */
  | { status: 'queued'; reason: string };

/**
 * One provider call for an order its caller has moved to `delivering`, and the order's next status.
 *
 * - 2xx: `delivered`. 4xx: `failed`, reservation released.
 * - No connection, or 5xx: nothing was delivered; `queued` (or `failed` on the final attempt).
 * - Sent but no answer: with order numbers a re-send is the same delivery, so `queued`; without
 *   them it may have been delivered: `uncertain`, never re-sent automatically, counted per user.
 */
@Injectable()
export class OrderDeliverer {
  private readonly logger = new Logger(OrderDeliverer.name);
  private readonly attempts: Counter<'outcome'>;

  constructor(
    private readonly store: ClaimStore,
    private readonly provider: GuardedProvider,
    metrics: Metrics,
  ) {
    this.attempts = metrics.counter('rampart_deliveries_total', 'Delivery attempts by the status they left the order in', ['outcome']);
  }

  async attempt(order: OrderRef, target: ProviderTarget, opts: { finalAttempt: boolean }): Promise<AttemptResult> {
    const result = await this.attemptOnce(order, target, opts);
    this.attempts.inc({ outcome: result.status });
    return result;
  }

  private async attemptOnce(order: OrderRef, target: ProviderTarget, opts: { finalAttempt: boolean }): Promise<AttemptResult> {
    const { orderId, userId, giftId } = order;
    const outcome = await this.provider.deliver(target.providerUrl, { orderId, userId, giftId, quantity: 1 });
    switch (outcome.kind) {
      case 'delivered':
        await this.store.transition(orderId, ['delivering'], 'delivered', { nowMs: Date.now(), fields: { providerRef: outcome.providerRef ?? '' } });
        return { status: 'delivered' };
      case 'refused':
        await this.fail(order, target, outcome.reason);
        return { status: 'failed', reason: outcome.reason };
      case 'unknown':
        if (!target.orderNumbers) {
          const moved = await this.store.transition(orderId, ['delivering'], 'uncertain', { nowMs: Date.now(), error: outcome.reason });
          if (moved.moved) await this.store.countUncertain(giftId, userId);
          this.logger.warn({ event: 'order.uncertain', orderId, requestId: order.requestId, reason: outcome.reason });
          return { status: 'uncertain', reason: outcome.reason };
        }
      // falls through: with order numbers an unanswered request is safe to send again
      case 'not-sent':
      case 'failed':
        if (opts.finalAttempt) {
          await this.fail(order, target, `gave up: ${outcome.reason}`);
          return { status: 'failed', reason: outcome.reason };
        }
        await this.store.transition(orderId, ['delivering'], 'queued', { nowMs: Date.now(), error: outcome.reason });
        return { status: 'queued', reason: outcome.reason };
    }
  }

  /** Marks the order failed and gives its unit back (the contract: a failed order has released). */
  async fail(order: OrderRef, target: Pick<ProviderTarget, 'day'>, reason: string, from: string[] = ['delivering']): Promise<void> {
    const moved = await this.store.transition(order.orderId, from, 'failed', { nowMs: Date.now(), error: reason });
    if (moved.moved || moved.status === 'failed') await this.store.release(order.orderId, order.userId, order.giftId, target.day);
    this.logger.warn({ event: 'order.failed', orderId: order.orderId, requestId: order.requestId, reason });
  }
}
