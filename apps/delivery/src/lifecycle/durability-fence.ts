import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { SendRecord } from './order.store.js';

/** How often `auto` re-reads the master's replica count, in ms. */
const REFRESH_MS = 10_000;

/**
 * How many replicas must hold an attempt's send record before a provider without order numbers is
 * called. Without it, a failover that loses the record (replication is asynchronous) would let a
 * recovery send the order again. `auto` follows the master's replicas that are online (at most 1: one copy
 * besides the master is what a promotion needs); on a Redis Cluster set the number explicitly.
 */
export class DurabilityFence {
  private readonly logger = new Logger(DurabilityFence.name);
  private count = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly setting: number | 'auto',
  ) {
    if (setting !== 'auto') this.count = setting;
  }

  /** Replicas to wait for now (0: no fence). */
  replicas(): number {
    return this.count;
  }

  /**
   * Whether a take may record its attempt's send at once (see SendRecord): always without a fence;
   * with one, only for providers with order numbers (the others' record must go out with the WAIT).
   */
  sendRecord(): SendRecord {
    return this.count > 0 ? 'with-order-numbers' : 'always';
  }

  async start(): Promise<void> {
    if (this.setting !== 'auto' || this.redis.isCluster) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const info = await this.redis.info('replication');
      // Only replicas past their first sync can acknowledge (one in `wait_bgsave` answers WAIT with 0).
      const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
      const next = Math.min(online, 1);
      if (next !== this.count) this.logger.log({ event: 'fence.replicas', replicas: next });
      this.count = next;
    } catch (err) {
      this.logger.warn({ event: 'fence.refresh-failed', error: (err as Error).message });
    }
  }
}
