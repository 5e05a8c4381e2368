import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Name of the BullMQ queue of deliveries (its keys live under `RedisKeys.queuePrefix()`). */
export const DELIVERY_QUEUE = 'delivery';
/** The custom backoff type; the worker implements it with `retryBackoffMs`. */
export const BACKOFF_TYPE = 'rampart';

export interface DeliveryJobData {
  orderId: string;
  /** The order's gift and user (jobs queued before they were carried lack them). */
  giftId?: string;
  userId?: string;
  requestId: string;
}

/**
 * The job id of an order. BullMQ refuses ids that look like integers ("Custom Id cannot be
 * integers") or hold ':', and order numbers are often numeric: the fixed prefix makes every valid
 * order number (`[A-Za-z0-9_-]{1,128}`) a valid, distinct job id.
 */
export const jobIdOf = (orderId: string): string => `order-${orderId}`;

/** A job in the failed set (a dead letter), before its order says why it failed. */
export interface FailedJob {
  orderId: string;
  giftId?: string;
  userId?: string;
  /** The last failure's message. */
  error: string;
  attempts: number;
  failedAt: string;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/**
 * The delivery queue: one job per order (`jobIdOf`), so enqueueing an order twice is a no-op.
 * Failed jobs stay in the failed set (the dead letter) until an operator re-queues or discards them,
 * or they are older than `keepS` (the order itself is `failed` and archived; only the job goes).
 * Completed jobs are kept a day at most (and never beyond `keepS`).
 */
export class DeliveryQueue {
  private readonly logger = new Logger(DeliveryQueue.name);
  private readonly queue: Queue<DeliveryJobData>;
  private closed = false;

  /**
   * @param attempts tries per job before it is dead-lettered.
   * @param keepS age after which completed and failed jobs are removed, in s (QUEUE_KEEP_SECONDS; default 7 days).
   */
  constructor(connection: Redis, prefix: string, attempts: number, keepS = 7 * 86_400) {
    this.queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: Math.min(24 * 3600, keepS), count: 100_000 },
        removeOnFail: { age: keepS },
      },
    });
  }

  /**
   * Makes sure a queued order has a job that will run: adds one (a no-op while it has one), and
   * runs a job that already ended (completed or failed) again, since the order was handed back to
   * the queue after it. Used by the claim, the reconciler and operators alike.
   */
  async ensureJob(order: { orderId: string; giftId: string; userId: string }, requestId: string): Promise<void> {
    const data: DeliveryJobData = { orderId: order.orderId, giftId: order.giftId, userId: order.userId, requestId };
    const job = await this.queue.add('deliver', data, { jobId: jobIdOf(order.orderId) });
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      this.logger.log({ event: 'job.requeued', jobId: job.id, from: state, requestId });
    }
  }

  /** The newest dead-lettered jobs. */
  async failed(limit: number): Promise<FailedJob[]> {
    const jobs = await this.queue.getFailed(0, limit - 1);
    return jobs.map((job) => ({
      orderId: job.data.orderId,
      ...(job.data.giftId ? { giftId: job.data.giftId } : {}),
      ...(job.data.userId ? { userId: job.data.userId } : {}),
      error: (job.failedReason ?? '').slice(0, 300),
      attempts: job.attemptsMade,
      failedAt: new Date(job.finishedOn ?? job.timestamp).toISOString(),
    }));
  }

  /**
   * Removes an order's job from the failed set (the dead letter). False when the order has no job
   * there (never dead-lettered, re-queued, or discarded before). BullMQ's remove is atomic and
   * refuses a job locked by a worker, so of concurrent discards only one removes it.
   */
  async discardFailed(orderId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobIdOf(orderId));
    if (!job || (await job.getState()) !== 'failed') return false;
    return (await this.queue.remove(jobIdOf(orderId))) === 1;
  }

  /**
   * Age in seconds of the oldest job waiting to run (0 when none waits): how far behind the
   * workers are, which a depth alone does not say.
   */
  async oldestWaitingAgeS(nowMs = Date.now()): Promise<number> {
    const [oldest] = await this.queue.getJobs(['wait'], 0, 0, true);
    return oldest ? Math.max(0, (nowMs - oldest.timestamp) / 1000) : 0;
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
