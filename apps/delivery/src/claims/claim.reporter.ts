import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Flags, type RedisKeys } from '@app/contracts';
import type { FlagCache } from '@app/platform';
import { ReportBuffer, type ReportBufferStats } from '@app/resilience';
import { OutcomeReports, type OutcomeReport } from '../lifecycle/outcome-reports.js';
import type { Actor } from '../lifecycle/order-transitions.js';

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
}

/**
 * An entry of the report stream, read by the analyzers (apps/analyzer): `kind` `claim` (every
 * answered claim, with its latency, and `settled` when its own attempt settled the order) or
 * `outcome` (an order's first settlement by any other path: the queue worker, the reconciler).
 */
type Report = ({ kind: 'claim'; settled?: OutcomeReport['status'] } & ClaimReport) | ({ kind: 'outcome' } & OutcomeReport);

/** Settlements held for their claim's report at most; beyond, they are reported on their own. */
const MAX_HELD_SETTLEMENTS = 10_000;

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
  /** Settlements made by a claim's own attempt, by order id, until that claim is reported. */
  private readonly heldSettlements = new Map<string, OutcomeReport['status']>();

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

  /** A claim as answered; it carries the settlement its own attempt made, if any (one entry, not two). */
  report(event: ClaimReport): void {
    const settled = this.heldSettlements.get(event.orderId);
    if (settled) this.heldSettlements.delete(event.orderId);
    if (!this.flags.isEnabled(Flags.ReportDisabled)) this.buffer.push({ kind: 'claim', ...event, ...(settled ? { settled } : {}) });
  }

  /** An order's first settlement: held for its claim's report when the claim's own attempt made it. */
  outcome(event: OutcomeReport, actor: Actor): void {
    if (this.flags.isEnabled(Flags.ReportDisabled)) return;
    if (actor === 'claim' && this.heldSettlements.size < MAX_HELD_SETTLEMENTS) this.heldSettlements.set(event.orderId, event.status);
    else this.buffer.push({ kind: 'outcome', ...event });
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
