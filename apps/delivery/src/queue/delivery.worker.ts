import { Logger } from '@nestjs/common';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { deadLetterReasonOf, type DeadLetterReason } from './dead-letter.error.js';
import type { DeliveryProcessor } from './delivery.processor.js';
import { BACKOFF_TYPE, DELIVERY_QUEUE, type DeliveryJobData } from './delivery.queue.js';
import { retryBackoffMs } from './retry-backoff.js';

/**
 * The BullMQ worker of this delivery instance. Stalled jobs (their worker died mid-job) go back to
 * the queue after the lock expires; a job may stall several times before it counts as failed, so a
 * crash loop of instances does not dead-letter healthy orders.
 *
 * A job is dead-lettered when it fails with an `UnrecoverableError` (the processor's
 * `DeadLetterError` names the reason) or on its last try; `onDeadLetter` hears of each, with the
 * reason (`refused`, `exhausted`, `invalid`), for the `rampart_dead_letters_total` counter.
 */
export function createDeliveryWorker(
  connection: Redis,
  prefix: string,
  processor: DeliveryProcessor,
  config: DeliveryConfig,
  onDeadLetter: (reason: DeadLetterReason) => void = () => undefined,
): Worker<DeliveryJobData> {
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
    if (job && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))) {
      const reason = deadLetterReasonOf(err);
      onDeadLetter(reason);
      logger.warn({ event: 'job.dead-lettered', jobId: job.id, orderId: job.data.orderId, reason, error: err.message, requestId: job.data.requestId });
    }
  });
  worker.on('error', (err) => logger.warn({ event: 'worker.error', error: err.message }));
  return worker;
}
