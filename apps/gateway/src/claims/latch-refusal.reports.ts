import type { Redis } from 'ioredis';
import { Flags, type RedisKeys } from '@app/contracts';
import type { FlagCache } from '@app/platform';

/** Most entries the report stream keeps (as on delivery). */
const STREAM_MAX = 100_000;

/**
 * Reports the claims this gateway's sold-out latch answered (they never reach delivery, whose
 * reporter reports every other claim) to the report stream the analyzers count: one entry per gift
 * per flush, `count` claims refused SOLD_OUT in under a millisecond, so a storm on a sold-out gift
 * costs one XADD per gift per second. Non-essential like every report: a failed flush, or a
 * gateway killed before one, loses those counts; skipped under `report.disabled`.
 */
export class LatchRefusalReports {
  private counts = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing?: Promise<void>;
  lost = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly flags: FlagCache,
    flushEveryMs = 1_000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  refused(giftId: string): void {
    if (this.flags.isEnabled(Flags.ReportDisabled)) return;
    this.counts.set(giftId, (this.counts.get(giftId) ?? 0) + 1);
  }

  async flush(): Promise<void> {
    await this.flushing;
    if (this.counts.size === 0) return;
    const batch = this.counts;
    this.counts = new Map();
    const at = Date.now();
    const pipeline = this.redis.pipeline();
    for (const [giftId, count] of batch) {
      pipeline.xadd(this.keys.reports(), 'MAXLEN', '~', STREAM_MAX, '*', 'kind', 'claim', 'giftId', giftId, 'status', 'SOLD_OUT', 'at', at, 'latencyMs', 0, 'count', count);
    }
    this.flushing = pipeline.exec().then(
      (replies) => {
        for (const [i, [err]] of (replies ?? []).entries()) if (err) this.lost += [...batch.values()][i];
      },
      () => {
        for (const count of batch.values()) this.lost += count;
      },
    );
    await this.flushing;
  }

  /** Stops the timer and flushes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
