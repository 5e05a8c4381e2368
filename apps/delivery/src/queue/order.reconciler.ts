import { Logger } from '@nestjs/common';
import { GiftTargets } from '../lifecycle/gift-targets.js';
import type { OrderStore } from '../lifecycle/order.store.js';
import { OPEN_STATUSES } from '../lifecycle/order-transitions.js';
import type { DeliveryQueue } from './delivery.queue.js';

/** Orders looked at per gift and pass. */
const BATCH = 200;

/**
 * Finds open orders that nobody owns and drives each to a consistent state. Runs on every delivery
 * instance; every move it makes is conditional on the status and epoch it read (and on the lease
 * having ended), so instances may race harmlessly. It reads each gift's open list, whose scores say
 * when an order is due for a look:
 *
 * - `delivering` whose lease ended (its process died or stalled): if the provider call may have been
 *   sent to a provider without order numbers, `uncertain`; otherwise back to `queued` with a job.
 * - `queued` due for its periodic check: its job is made sure of (added if lost in a failover,
 *   re-run if it was dead-lettered or completed while the order was still queued).
 *
 * Each order is handled on its own: one that fails is logged and retried on the next pass.
 */
export class OrderReconciler {
  private readonly logger = new Logger(OrderReconciler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly orders: OrderStore,
    private readonly targets: GiftTargets,
    private readonly queue: DeliveryQueue,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One pass over every gift's due orders; returns how many orders were looked at. */
  async sweep(): Promise<number> {
    let looked = 0;
    try {
      const nowMs = await this.orders.serverTimeMs();
      for (const giftId of await this.orders.giftIds()) {
        for (const orderId of await this.orders.dueOpenOrders(giftId, nowMs, BATCH)) {
          looked += 1;
          await this.reconcile(giftId, orderId, nowMs).catch((err: unknown) =>
            this.logger.warn({ event: 'reconcile.failed', orderId, giftId, error: (err as Error).message }),
          );
        }
      }
    } catch (err) {
      this.logger.warn({ event: 'sweep.failed', error: (err as Error).message });
    }
    return looked;
  }

  async reconcile(giftId: string, orderId: string, nowMs: number): Promise<void> {
    const state = await this.orders.state(giftId, orderId);
    if (!state || !OPEN_STATUSES.has(state.status)) return this.orders.unlist(giftId, orderId);
    const ref = { orderId, giftId, userId: state.userId };
    if (state.status === 'queued') {
      await this.queue.ensureJob(ref, 'reconciler');
      await this.orders.rewatch(giftId, orderId, nowMs);
      return;
    }
    const target = await this.targets.of(giftId);
    const maybeSent = state.sentEpoch === state.epoch;
    if (maybeSent && !target?.orderNumbers) {
      const moved = await this.orders.move(ref, 'delivering', 'uncertain', 'sweeper', {
        epoch: state.epoch,
        leaseEnded: true,
        reason: 'attempt interrupted after it was sent',
        fields: { error: 'delivery attempt interrupted after it was sent' },
      });
      if (moved.moved) this.logger.warn({ event: 'order.uncertain', orderId, reason: 'attempt interrupted after it was sent' });
      return;
    }
    const moved = await this.orders.move(ref, 'delivering', 'queued', 'sweeper', {
      epoch: state.epoch,
      leaseEnded: true,
      reason: 'attempt interrupted',
      ...(maybeSent ? { fields: { maybeDelivered: '1' } } : {}),
    });
    if (!moved.moved) return;
    await this.queue.ensureJob(ref, 'reconciler');
    this.logger.warn({ event: 'order.recovered', orderId, giftId, sent: maybeSent });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
