import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { ClaimService } from '../claims/claim.service.js';
import { ClaimStore } from '../claims/claim.store.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { OrderDeliverer, type OrderRef } from '../deliveries/order-deliverer.js';
import { ProviderClient } from '../provider/provider.client.js';
import type { DeliveryJobData } from './delivery.queue.js';

const SETTLED = new Set(['delivered', 'failed', 'uncertain', 'refused']);

/**
 * Processes one delivery job: moves its order forward from whatever status it is in.
 *
 * Input: `{ orderId }` (jobId = orderId). Output: the order's status when the job ends.
 * Idempotency: the job re-reads the order first; a settled order is left alone, a reservation
 * is never made twice (ledger), and BullMQ's lock keeps one worker per job.
 * Retryable: a transient provider failure throws, so `attempts`/backoff apply; a refusal or the
 * final attempt throws UnrecoverableError (dead letter) after the order is failed and released.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);

  constructor(
    private readonly claims: ClaimService,
    private readonly store: ClaimStore,
    private readonly deliverer: OrderDeliverer,
    private readonly provider: ProviderClient,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  async process(job: Job<DeliveryJobData>): Promise<string> {
    const { orderId, requestId } = job.data;
    const record = await this.store.orderRecord(orderId);
    if (!record.orderId) return 'missing';
    const order: OrderRef = { orderId, userId: record.userId, giftId: record.giftId, requestId };
    let status = record.status;
    let day = record.reservedDay;
    if (status === 'new') {
      // The claim request died between binding and reserving: finish the claim here.
      const createdAtMs = Number(record.createdAtMs);
      const reservation = await this.claims.reserveOrder(order, createdAtMs, createdAtMs, () => 'reserved');
      if (reservation.kind !== 'reserved') return this.settle(orderId, reservation.kind);
      status = 'reserved';
      day = reservation.gift.day;
    }
    if (SETTLED.has(status)) return this.settle(orderId, status);

    const gift = await this.store.gift(order.giftId);
    if (!gift) throw new UnrecoverableError(`gift ${order.giftId} of order ${orderId} no longer exists`);
    const target = { providerUrl: gift.providerUrl, orderNumbers: gift.orderNumbers, day };

    if (gift.orderNumbers && Number(record.attempts ?? 0) > 0) {
      // A previous attempt may have delivered without us hearing of it: ask before re-sending.
      if ((await this.provider.lookup(gift.providerUrl, orderId)) === 'delivered') {
        await this.store.transition(orderId, ['reserved', 'queued', 'delivering'], 'delivered', { nowMs: Date.now(), fields: { reconciled: '1' } });
        return this.settle(orderId, 'delivered');
      }
    } else if (status === 'delivering') {
      // An attempt was cut off (its process died) and this provider cannot be asked or re-sent to.
      const moved = await this.store.transition(orderId, ['delivering'], 'uncertain', { nowMs: Date.now(), error: 'delivery attempt interrupted' });
      if (moved.moved) await this.store.countUncertain(order.giftId, order.userId);
      return this.settle(orderId, 'uncertain');
    }

    const started = await this.store.transition(orderId, ['reserved', 'queued', 'delivering'], 'delivering', { nowMs: Date.now(), attemptsDelta: 1 });
    if (!started.moved) return this.settle(orderId, started.status);
    const ageMs = Date.now() - Number(record.createdAtMs);
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || ageMs >= this.config.queueMaxAgeMs;
    const result = await this.deliverer.attempt(order, target, { finalAttempt });
    await this.store.untrack(orderId);
    if (result.status === 'queued') throw new Error(`delivery of ${orderId} will be retried: ${result.reason}`);
    if (result.status === 'failed') throw new UnrecoverableError(`delivery of ${orderId} failed: ${result.reason}`);
    this.logger.debug({ event: `order.${result.status}`, orderId, jobId: job.id, attempt: job.attemptsMade + 1, requestId });
    return result.status;
  }

  private async settle(orderId: string, status: string): Promise<string> {
    await this.store.untrack(orderId);
    return status;
  }
}
