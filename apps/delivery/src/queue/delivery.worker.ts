import { Logger } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeliveryConfig } from '../config/delivery.config.js';
import type { DeliveryProcessor } from './delivery.processor.js';
import { BACKOFF_TYPE, DELIVERY_QUEUE, type DeliveryJobData } from './delivery.queue.js';
import { retryBackoffMs } from './retry-backoff.js';

/**
 * The BullMQ worker of this delivery instance. Stalled jobs (their worker died mid-job) go back to
 * the queue after the lock expires; a job may stall several times before it counts as failed, so a
 * crash loop of instances does not dead-letter healthy orders.
 */
export function createDeliveryWorker(connection: Redis, prefix: string, processor: DeliveryProcessor, config: DeliveryConfig): Worker<DeliveryJobData> {
  const logger = new Logger('DeliveryWorker');
  const worker = new Worker<DeliveryJobData>(DELIVERY_QUEUE, (job) => processor.process(job), {
    connection,
    prefix,
    concurrency: config.queueConcurrency,
    lockDuration: config.queueLockMs,
    stalledInterval: config.queueLockMs,
    maxStalledCount: 10,
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) =>
        type === BACKOFF_TYPE ? retryBackoffMs(attemptsMade, { baseMs: config.queueBackoffBaseMs, maxMs: config.queueBackoffMaxMs }) : 1_000,
    },
  });
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.warn({ event: 'job.dead-lettered', jobId: job.id, error: err.message, requestId: job.data.requestId });
    }
  });
  worker.on('error', (err) => logger.warn({ event: 'worker.error', error: err.message }));
  return worker;
}
