import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AdminOrderView } from '@app/contracts';
import { Metrics } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { ArchiveAccess } from './archive-access.js';

/** What the archive says about an order number: the order, none, or unknown (not reachable in time). */
export type ArchiveAnswer = { kind: 'found'; order: AdminOrderView } | { kind: 'none' } | { kind: 'unknown' };

/** After a failed lookup, lookups are skipped (answer `unknown` at once) for this long, in ms. */
const BACKOFF_MS = 5_000;
/** Most order numbers asked in one query. */
const MAX_BATCH = 256;

/**
 * The claim's look at the archive for an order number Redis has no order for (a new binding, or a
 * binding whose order state is gone). Bounded: it waits at most ARCHIVE_LOOKUP_TIMEOUT_MS and,
 * after a failure, answers `unknown` without trying for a few seconds, so PostgreSQL being slow or
 * down costs claims of live gifts nothing. The caller decides what `unknown` means.
 *
 * Lookups are batched: one query (`order_id = ANY(...)`, up to 256 numbers) is in flight at a time, and
 * the numbers asked meanwhile go together in the next one as soon as it returns (the first waits only for
 * the end of its event-loop turn). Batches grow with the load by themselves, so under load PostgreSQL sees
 * a query per batch, not per claim, and an idle instance adds no delay. More than 256 numbers waiting
 * start a second query at once, so no number waits behind more than one batch.
 */
@Injectable()
export class ArchivedOrderLookup {
  private readonly logger = new Logger(ArchivedOrderLookup.name);
  private skipUntilMs = 0;
  /** Numbers waiting for the next batch, each with the claims that asked. */
  private pending = new Map<string, Array<(answer: ArchiveAnswer) => void>>();
  private flushScheduled = false;
  /** Queries in flight (one, or two while more than a batch was waiting). */
  private inFlight = 0;
  private readonly outcomes;

  constructor(
    private readonly access: ArchiveAccess,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    metrics: Metrics,
  ) {
    this.outcomes = metrics.counter(
      'rampart_archive_lookups_total',
      'Claims with an order number new to Redis, by the archive\'s answer (not-retired: the retired-number filter answered, PostgreSQL was not asked)',
      ['answer'],
    );
  }

  /** A claim the retired-number filter answered (its number was never retired): counted, nothing asked. */
  notRetired(): void {
    this.outcomes.inc({ answer: 'not-retired' });
  }

  get enabled(): boolean {
    return this.access.enabled;
  }

  async find(orderId: string): Promise<ArchiveAnswer> {
    if (!this.access.orders) return { kind: 'none' };
    if (!this.access.ready || Date.now() < this.skipUntilMs) return this.count({ kind: 'unknown' });
    return new Promise<ArchiveAnswer>((resolve) => {
      const waiting = this.pending.get(orderId);
      if (waiting) waiting.push(resolve);
      else this.pending.set(orderId, [resolve]);
      if (this.pending.size >= MAX_BATCH) void this.flush();
      else if (!this.flushScheduled && this.inFlight === 0) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    }).then((answer) => this.count(answer));
  }

  /** Asks the archive for every number waiting, in one bounded query, and answers each. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    if (!batch.size) return;
    this.pending = new Map();
    this.inFlight += 1;
    try {
      await this.ask(batch);
    } finally {
      this.inFlight -= 1;
      // What arrived while the query ran goes in the next one now.
      if (this.inFlight === 0 && this.pending.size > 0) void this.flush();
    }
  }

  private async ask(batch: Map<string, Array<(answer: ArchiveAnswer) => void>>): Promise<void> {
    const answer = (pick: (orderId: string) => ArchiveAnswer) => {
      for (const [orderId, resolvers] of batch) for (const resolve of resolvers) resolve(pick(orderId));
    };
    const archive = this.access.orders;
    if (!archive) return answer(() => ({ kind: 'none' }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.archive.lookupTimeoutMs)));
    try {
      const found = await Promise.race([archive.findMany([...batch.keys()]), timeout]);
      if (found === 'timeout') throw new Error(`archive lookup took over ${this.config.archive.lookupTimeoutMs} ms`);
      answer((orderId) => {
        const order = found.get(orderId);
        return order ? { kind: 'found', order } : { kind: 'none' };
      });
    } catch (err) {
      this.skipUntilMs = Date.now() + BACKOFF_MS;
      this.logger.warn({ event: 'archive.lookup.failed', orders: batch.size, error: (err as Error).message });
      answer(() => ({ kind: 'unknown' }));
    } finally {
      clearTimeout(timer);
    }
  }

  private count(answer: ArchiveAnswer): ArchiveAnswer {
    this.outcomes.inc({ answer: answer.kind });
    return answer;
  }
}
