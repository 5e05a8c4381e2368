import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Flags, type RedisKeys } from '@app/contracts';
import type { FlagCache } from '@app/platform';
import { ReportBuffer, type ReportBufferStats } from '@app/resilience';

/** One analytics event of the claim path. No user id: reports feed dashboards, not user records. */
export interface ClaimReport {
  orderId: string;
  giftId: string;
  status: string;
  latencyMs: number;
  at: number;
}

/** Most entries the report stream keeps. */
const STREAM_MAX = 100_000;

/**
 * The claim path's non-essential `report` branch: `report()` is synchronous and never waits; the
 * buffer writes batches behind, to a Redis stream, each flush bounded by a tiny timeout. A hung or
 * failing sink loses reports (counted), never claim latency. Skipped under `report.disabled`.
 */
export class ClaimReporter {
  private readonly logger = new Logger(ClaimReporter.name);
  private readonly buffer: ReportBuffer<ClaimReport>;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    private readonly flags: FlagCache,
    options: { flushTimeoutMs: number; maxBuffered: number },
  ) {
    const stream = keys.reports();
    this.buffer = new ReportBuffer<ClaimReport>({
      maxEntries: options.maxBuffered,
      flushTimeoutMs: options.flushTimeoutMs,
      sink: async (batch) => {
        const pipeline = redis.pipeline();
        for (const r of batch) {
          pipeline.xadd(stream, 'MAXLEN', '~', STREAM_MAX, '*', 'orderId', r.orderId, 'giftId', r.giftId, 'status', r.status, 'latencyMs', r.latencyMs, 'at', r.at);
        }
        // exec() resolves with one [error, reply] per command; a failed XADD is a lost report too.
        const failed = (await pipeline.exec())?.find(([err]) => err);
        if (failed) throw failed[0];
      },
    });
  }

  report(event: ClaimReport): void {
    if (!this.flags.isEnabled(Flags.ReportDisabled)) this.buffer.push(event);
  }

  stats(): ReportBufferStats {
    return this.buffer.stats();
  }

  async dispose(): Promise<void> {
    await this.buffer.dispose();
    const { dropped, lost } = this.buffer.stats();
    if (dropped || lost) this.logger.warn({ event: 'reports.lost', dropped, lost });
  }
}
