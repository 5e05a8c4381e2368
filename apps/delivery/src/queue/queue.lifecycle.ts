import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, FlagCache } from '@app/platform';
import { ClaimStore, DELIVERY_REDIS } from '../claims/claim.store.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { DeliveryProcessor } from './delivery.processor.js';
import { DeliveryQueue } from './delivery.queue.js';
import { createDeliveryWorker } from './delivery.worker.js';
import { InflightSweeper } from './inflight.sweeper.js';

/**
 * Starts what runs in the background of a delivery instance (flags, queue worker, inflight
 * sweeper) once the app is up, and stops it on shutdown: the sweeper first, then the worker
 * (it finishes its active jobs), then the queue, flags and Redis connections.
 */
@Injectable()
export class QueueLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker;
  private sweeper?: InflightSweeper;
  private workerConnection?: Redis;

  constructor(
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    @Inject(DELIVERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly flags: FlagCache,
    private readonly queue: DeliveryQueue,
    private readonly store: ClaimStore,
    private readonly processor: DeliveryProcessor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.flags.start();
    // Blocking commands need their own connection that never gives up on a request.
    this.workerConnection = createRedis(this.config.redisUrl, 'rampart-delivery-worker', { isBlocking: true });
    this.worker = createDeliveryWorker(this.workerConnection, this.keys.queuePrefix(), this.processor, this.config);
    this.sweeper = new InflightSweeper(this.store, this.queue, this.config.sweepIntervalMs);
    this.sweeper.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper?.stop();
    await this.worker?.close();
    await this.queue.close();
    this.flags.stop();
    if (this.workerConnection) await closeRedis(this.workerConnection);
  }
}
