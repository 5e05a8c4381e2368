import { Logger } from '@nestjs/common';
import type { ClaimStore } from '../claims/claim.store.js';
import type { DeliveryQueue } from './delivery.queue.js';

/** Statuses that need no further work (or are not orders); their in-flight marks are just dropped. */
const SETTLED = new Set(['delivered', 'failed', 'uncertain', 'refused']);

/**
 * Hands orders whose request-path worker died (past their inflight deadline) to the queue. Runs on
 * every delivery instance; enqueueing is idempotent by jobId, so instances may race harmlessly.
 */
export class InflightSweeper {
  private readonly logger = new Logger(InflightSweeper.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly store: ClaimStore,
    private readonly queue: DeliveryQueue,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Enqueues every overdue order; returns how many. */
  async sweep(nowMs = Date.now()): Promise<number> {
    try {
      const overdue = await this.store.overdue(nowMs, 200);
      for (const orderId of overdue) {
        const { status } = await this.store.orderRecord(orderId);
        if (status && !SETTLED.has(status)) {
          await this.queue.enqueueAgain(orderId, 'sweeper');
          this.logger.warn({ event: 'order.recovered', orderId, status });
        }
        await this.store.untrack(orderId);
      }
      return overdue.length;
    } catch (err) {
      this.logger.warn({ event: 'sweep.failed', error: (err as Error).message });
      return 0;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
