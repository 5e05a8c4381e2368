import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadLetter } from '@app/contracts';

/** Name of the BullMQ queue of deliveries (its keys live under `RedisKeys.queuePrefix()`). */
export const DELIVERY_QUEUE = 'delivery';
/** The custom backoff type; the worker implements it with `retryBackoffMs`. */
export const BACKOFF_TYPE = 'rampart';

export interface DeliveryJobData {
  orderId: string;
  requestId: string;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/**
 * The delivery queue: one job per order, jobId = orderId, so enqueueing an order twice is a no-op.
 * Failed jobs stay in the failed set (the dead letter) until an operator re-queues them.
 */
export class DeliveryQueue {
  private readonly logger = new Logger(DeliveryQueue.name);
  private readonly queue: Queue<DeliveryJobData>;
  private closed = false;

  /** @param attempts tries per job before it is dead-lettered. */
  constructor(connection: Redis, prefix: string, attempts: number) {
    this.queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: 24 * 3600, count: 100_000 },
        removeOnFail: false,
      },
    });
  }

  /** Puts an order on the queue (a repeat is a no-op: jobId = orderId). */
  async enqueue(orderId: string, requestId: string): Promise<void> {
    await this.queue.add('deliver', { orderId, requestId }, { jobId: orderId });
  }

  /**
   * Puts an order on the queue that may have had a job before (a recovered or re-queued order):
   * if that job already ran to the end (completed or failed), it is run again, since the order
   * was handed back to the queue after it and the job must look at it anew.
   */
  async enqueueAgain(orderId: string, requestId: string): Promise<void> {
    const job = await this.queue.add('deliver', { orderId, requestId }, { jobId: orderId });
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      this.logger.log({ event: 'job.requeued', jobId: orderId, from: state, requestId });
    }
  }

  /** State of an order's job, or undefined when it has none (never queued, or removed). */
  async jobState(orderId: string): Promise<string | undefined> {
    const job = await this.queue.getJob(orderId);
    return job ? job.getState() : undefined;
  }

  /** Re-queues a dead-lettered order. False when it is not in the failed set. */
  async retryFailed(orderId: string): Promise<boolean> {
    const job = await this.queue.getJob(orderId);
    if (!job || (await job.getState()) !== 'failed') return false;
    await job.retry('failed', { resetAttemptsMade: true });
    return true;
  }

  /** The newest dead-lettered jobs. */
  async failed(limit: number): Promise<DeadLetter[]> {
    const jobs = await this.queue.getFailed(0, limit - 1);
    return jobs.map((job) => ({
      orderId: job.data.orderId,
      reason: (job.failedReason ?? '').slice(0, 300),
      attempts: job.attemptsMade,
      failedAt: new Date(job.finishedOn ?? job.timestamp).toISOString(),
    }));
  }

  async counts(): Promise<QueueCounts> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      completed: counts.completed ?? 0,
    };
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close();
  }
}
