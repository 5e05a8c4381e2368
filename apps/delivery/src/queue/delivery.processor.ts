import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { OrderDeliverer } from '../deliveries/order-deliverer.js';
import { DurabilityFence } from '../lifecycle/durability-fence.js';
import { OrderBindingStore, type OrderRef } from '../lifecycle/order-binding.store.js';
import { OrderStore, type ProviderTarget } from '../lifecycle/order.store.js';
import { SETTLED_STATUSES } from '../lifecycle/order-transitions.js';
import { ProviderClient } from '../provider/provider.client.js';
import { DeadLetterError } from './dead-letter.error.js';
import type { DeliveryJobData } from './delivery.queue.js';

/**
 * Processes one delivery job: takes a new attempt of its order and delivers.
 *
 * Input: `{ orderId, giftId, userId }`. Output: the order's status when the job ends.
 * Idempotency: the job reads the order first; a settled order is left alone; an attempt still
 * leased to another process is left to it; an attempt whose lease ended is taken over only if it was
 * never sent or the provider has order numbers (else the order is `uncertain`). With order numbers,
 * an order sent before is looked up at the provider before it is sent again.
 * Retryable: a transient failure leaves the order `queued` and throws, so `attempts`/backoff apply;
 * a refusal or the final attempt fails the order (released) and throws a DeadLetterError
 * (an UnrecoverableError naming the reason: `refused` or `exhausted`). An order
 * an order-number provider may have delivered (sent, no answer; lookup cannot tell) is never failed
 * for running out of tries: its job completes with the order still queued, and the reconciler runs it
 * again (it never appears as a dead letter).
 */
@Injectable()
export class DeliveryProcessor {
  private readonly logger = new Logger(DeliveryProcessor.name);

  constructor(
    private readonly bindings: OrderBindingStore,
    private readonly orders: OrderStore,
    private readonly deliverer: OrderDeliverer,
    private readonly provider: ProviderClient,
    private readonly fence: DurabilityFence,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
  ) {}

  async process(job: Job<DeliveryJobData>): Promise<string> {
    const { orderId } = job.data;
    const ref: OrderRef | undefined = job.data.giftId && job.data.userId ? { orderId, giftId: job.data.giftId, userId: job.data.userId } : await this.bindings.binding(orderId);
    // The usual job (an order never sent) is taken in one step, its send recorded with it (it is sent
    // right after); every other case reads the order first.
    const unsent = ref && (await this.orders.takeUnsent(ref, 'worker', this.fence.sendRecord()));
    if (unsent) return this.deliver(job, ref, unsent.epoch, unsent.target, { createdAtMs: unsent.createdAtMs, mayHaveDelivered: false, sentMarked: unsent.sentMarked });
    const { state, target } = ref ? await this.orders.stateWithTarget(ref.giftId, orderId) : {};
    if (!ref || !state) return 'missing';
    if (SETTLED_STATUSES.has(state.status) || (state.status !== 'queued' && state.status !== 'delivering')) return state.status;
    if (!target) throw new DeadLetterError('invalid', `gift ${ref.giftId} of order ${orderId} no longer exists`);

    // With order numbers, an order sent before may have been delivered without us hearing of it:
    // ask first. While the provider cannot tell whether an unanswered (or cut-off) attempt
    // delivered, the order is never failed for running out of tries.
    const lookup = target.orderNumbers && state.sentEpoch > 0 ? await this.provider.lookup(target.providerUrl, orderId) : undefined;
    const cutOff = state.status === 'delivering' && state.sentEpoch === state.epoch;
    const mayHaveDelivered = (state.maybeDelivered || cutOff) && lookup !== 'absent';
    if (lookup === 'delivered') {
      const moved = await this.orders.move(ref, state.status, 'delivered', 'worker', { epoch: state.epoch, reason: 'provider lookup', fields: { error: '' } });
      if (moved.moved) return 'delivered';
    }
    const taken = await this.orders.take(ref, state.status, state.epoch, 'worker', { sentTakeover: target.orderNumbers });
    if (!taken.taken) {
      if (taken.why !== 'sent') return taken.status; // moved on, or another process's attempt is running
      const moved = await this.orders.move(ref, 'delivering', 'uncertain', 'worker', {
        epoch: taken.epoch,
        leaseEnded: true,
        reason: 'attempt interrupted after it was sent',
        fields: { error: 'delivery attempt interrupted after it was sent' },
      });
      return moved.moved ? 'uncertain' : taken.status;
    }
    return this.deliver(job, ref, taken.epoch, target, { createdAtMs: state.createdAtMs, mayHaveDelivered });
  }

  /** The attempt the job took (order `delivering` at `epoch`): calls the provider and ends the job by what the attempt left. */
  private async deliver(
    job: Job<DeliveryJobData>,
    ref: OrderRef,
    epoch: number,
    target: ProviderTarget,
    order: { createdAtMs: number; mayHaveDelivered: boolean; sentMarked?: boolean },
  ): Promise<string> {
    const { orderId, requestId } = job.data;
    const ageMs = Date.now() - order.createdAtMs;
    const isLastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || ageMs >= this.config.queueMaxAgeMs;
    const finalAttempt = !order.mayHaveDelivered && isLastTry;
    const result = await this.deliverer.attempt({ ...ref, requestId }, epoch, target, { actor: 'worker', finalAttempt, sentMarked: order.sentMarked });
    if (!result.lost && result.status === 'queued') {
      // Out of this job's tries, yet the order may not fail (it may have been delivered): the job
      // ends without a dead letter (the dead-letter set holds failed orders only), the order stays
      // queued, and the reconciler runs it again after RECONCILE_QUEUED_AFTER_MS.
      if (isLastTry) return 'queued';
      throw new Error(`delivery of ${orderId} will be retried: ${result.reason}`);
    }
    if (!result.lost && result.status === 'failed') {
      throw new DeadLetterError(result.failure ?? 'exhausted', `delivery of ${orderId} failed: ${result.reason}`);
    }
    this.logger.debug({ event: `order.${result.status}`, orderId, jobId: job.id, attempt: job.attemptsMade + 1, requestId });
    return result.status;
  }
}
