import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, FlagCache, Metrics } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from './config/delivery.config.js';
import { IntakeGate } from './intake-gate.js';
import { DurabilityFence } from './lifecycle/durability-fence.js';
import { GiftTargets } from './lifecycle/gift-targets.js';
import { OrderStore } from './lifecycle/order.store.js';
import { BucketRebalancer } from './inventory/bucket.rebalancer.js';
import { GuardedProvider } from './provider/guarded-provider.js';
import { ProviderClient } from './provider/provider.client.js';
import { DeliveryProcessor } from './queue/delivery.processor.js';
import { DeliveryQueue } from './queue/delivery.queue.js';
import { DEAD_LETTER_REASONS } from './queue/dead-letter.error.js';
import { createDeliveryWorker } from './queue/delivery.worker.js';
import { OrderReconciler } from './queue/order.reconciler.js';

/**
 * What runs in the background of a delivery instance (flags, durability fence, queue worker,
 * reconciler, split gifts' rebalancer), and the order of a graceful stop, which is Nest's first shutdown hook:
 *
 * 1. stop intake: TCP messages are refused (retryable), the worker fetches no more jobs, the
 *    reconciler and the rebalancer stop (a pass under way finishes);
 * 2. drain: admitted messages and active jobs finish, bounded by SHUTDOWN_DRAIN_MS (keep it under
 *    the orchestrator's grace period);
 * 3. close the provider client (nothing is in flight any more, so no call is cut off), the queue;
 *
 * Redis connections close last, in the module's `onApplicationShutdown`.
 */
@Injectable()
export class DeliveryRuntime implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryRuntime.name);
  private worker?: Worker;
  private reconciler?: OrderReconciler;
  private workerConnection?: Redis;

  constructor(
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    private readonly keys: RedisKeys,
    private readonly flags: FlagCache,
    private readonly fence: DurabilityFence,
    private readonly queue: DeliveryQueue,
    private readonly orders: OrderStore,
    private readonly targets: GiftTargets,
    private readonly processor: DeliveryProcessor,
    private readonly intake: IntakeGate,
    private readonly client: ProviderClient,
    private readonly provider: GuardedProvider,
    private readonly metrics: Metrics,
    private readonly rebalancer: BucketRebalancer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.flags.start();
    await this.fence.start();
    // Blocking commands need their own connection that never gives up on a request.
    this.workerConnection = createRedis(this.config.redisUrl, 'rampart-delivery-worker', { isBlocking: true });
    const deadLetters = this.metrics.counter('rampart_dead_letters_total', 'Delivery jobs dead-lettered, by reason (refused: provider 4xx; exhausted: tries ran out)', ['reason']);
    for (const reason of DEAD_LETTER_REASONS) deadLetters.inc({ reason }, 0); // every series exists from the start, so increase() sees the first one
    this.worker = createDeliveryWorker(this.workerConnection, this.keys.queuePrefix(), this.processor, this.config, (reason) => deadLetters.inc({ reason }));
    this.reconciler = new OrderReconciler(this.orders, this.targets, this.queue, this.config.sweepIntervalMs);
    this.reconciler.start();
    this.rebalancer.start(this.config.rebalanceIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.intake.close();
    const stopped = Promise.all([this.intake.drained(), this.worker?.close(), this.reconciler?.stop(), this.rebalancer.stop()]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.shutdownDrainMs)));
    if ((await Promise.race([stopped, timedOut])) === 'timeout') {
      this.logger.warn({ event: 'drain.timeout', afterMs: this.config.shutdownDrainMs });
      await this.worker?.close(true);
    }
    clearTimeout(timer);
    await this.client.close();
    this.provider.dispose();
    await this.queue.close();
    this.flags.stop();
    this.fence.stop();
    if (this.workerConnection) await closeRedis(this.workerConnection);
  }
}
