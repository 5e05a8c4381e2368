import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AdminOrderView } from '@app/contracts';
import { Metrics } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { ArchiveAccess } from './archive-access.js';

/** What the archive says about an order number: the order, none, or unknown (not reachable in time). */
export type ArchiveAnswer = { kind: 'found'; order: AdminOrderView } | { kind: 'none' } | { kind: 'unknown' };

/** After a failed lookup, lookups are skipped (answer `unknown` at once) for this long, in ms. */
const BACKOFF_MS = 5_000;

/**
 * The claim's look at the archive for an order number Redis has no order for (a new binding, or a
 * binding whose order state is gone). Bounded: it waits at most ARCHIVE_LOOKUP_TIMEOUT_MS and,
 * after a failure, answers `unknown` without trying for a few seconds, so PostgreSQL being slow or
 * down costs claims of live gifts nothing. The caller decides what `unknown` means.
 */
@Injectable()
export class ArchivedOrderLookup {
  private readonly logger = new Logger(ArchivedOrderLookup.name);
  private skipUntilMs = 0;
  private readonly outcomes;

  constructor(
    private readonly access: ArchiveAccess,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    metrics: Metrics,
  ) {
    this.outcomes = metrics.counter('rampart_archive_lookups_total', 'Claims that asked the archive about their order number, by answer', ['answer']);
  }

  get enabled(): boolean {
    return this.access.enabled;
  }

  async find(orderId: string): Promise<ArchiveAnswer> {
    const archive = this.access.orders;
    if (!archive) return { kind: 'none' };
    if (!this.access.ready || Date.now() < this.skipUntilMs) return this.count({ kind: 'unknown' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.archive.lookupTimeoutMs)));
    try {
      const found = await Promise.race([archive.find(orderId), timeout]);
      if (found === 'timeout') throw new Error(`archive lookup took over ${this.config.archive.lookupTimeoutMs} ms`);
      return this.count(found ? { kind: 'found', order: found } : { kind: 'none' });
    } catch (err) {
      this.skipUntilMs = Date.now() + BACKOFF_MS;
      this.logger.warn({ event: 'archive.lookup.failed', orderId, error: (err as Error).message });
      return this.count({ kind: 'unknown' });
    } finally {
      clearTimeout(timer);
    }
  }

  private count(answer: ArchiveAnswer): ArchiveAnswer {
    this.outcomes.inc({ answer: answer.kind });
    return answer;
  }
}
