import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Flags, type RedisKeys } from '@app/contracts';
import type { FlagCache } from '@app/platform';
import { ReportBuffer, type ReportBufferStats } from '@app/resilience';
import { OutcomeReports, type OutcomeReport } from '../lifecycle/outcome-reports.js';

/**
 * One claim as answered: `status` is the order's status or the refusal's error code. No user id:
 * reports feed dashboards, not user records.
 */
export interface ClaimReport {
  orderId: string;
  giftId: string;
  status: string;
  latencyMs: number;
  at: number;
  /** The order's first settlement, when this claim's own attempt made it (the order store leaves it to this report). */
  settled?: OutcomeReport['status'];
}

/**
 * An entry of the report stream, read by the analyzers (apps/analyzer): `kind` `claim` (every
 * answered claim, with its latency, and `settled` when its own attempt settled the order) or
 * `outcome` (an order's first settlement by any other path: the queue worker, the reconciler).
 */
type Report = ({ kind: 'claim' } & ClaimReport) | ({ kind: 'outcome' } & OutcomeReport);

/** Most entries the report stream keeps (analyzers delete what they counted; this bounds it without them). */
const STREAM_MAX = 100_000;

/**
 * The claim path's non-essential `report` branch: `report()` is synchronous and never waits; the
 * buffer writes batches behind, to a Redis stream, each flush bounded by a tiny timeout. A hung or
 * failing sink loses reports (counted), never claim latency. Skipped under `report.disabled`.
 */
export class ClaimReporter extends OutcomeReports {
  private readonly logger = new Logger(ClaimReporter.name);
  private readonly buffer: ReportBuffer<Report>;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    private readonly flags: FlagCache,
    options: { flushTimeoutMs: number; maxBuffered: number },
  ) {
    super();
    const stream = keys.reports();
    this.buffer = new ReportBuffer<Report>({
      maxEntries: options.maxBuffered,
      flushTimeoutMs: options.flushTimeoutMs,
      sink: async (batch) => {
        const pipeline = redis.pipeline();
        for (const r of batch) {
          const extra = r.kind === 'claim' ? ['latencyMs', r.latencyMs, ...(r.settled ? ['settled', r.settled] : [])] : [];
          pipeline.xadd(stream, 'MAXLEN', '~', STREAM_MAX, '*', 'kind', r.kind, 'orderId', r.orderId, 'giftId', r.giftId, 'status', r.status, 'at', r.at, ...extra);
        }
        // exec() resolves with one [error, reply] per command; a failed XADD is a lost report too.
        const failed = (await pipeline.exec())?.find(([err]) => err);
        if (failed) throw failed[0];
      },
    });
  }

  report(event: ClaimReport): void {
    if (!this.flags.isEnabled(Flags.ReportDisabled)) this.buffer.push({ kind: 'claim', ...event });
  }

  outcome(event: OutcomeReport): void {
    if (!this.flags.isEnabled(Flags.ReportDisabled)) this.buffer.push({ kind: 'outcome', ...event });
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
