import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AnalyticsStore } from '@app/platform';
import type { GiftDirectory } from './gift-directory.js';
import { countersOf, parseReport, type ReportEntry } from './report-counters.js';

/** The consumer group every analyzer joins on the report stream. */
export const ANALYZER_GROUP = 'analyzers';

export interface ReportAnalyzerOptions {
  stream: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  faultKillAfterCommit?: boolean;
}

export interface ReportAnalyzerEvents {
  /** A batch was committed: entries read, how many were new (not counted before), and their age at commit, in ms. */
  onCommitted?(read: number, fresh: number, agesMs: number[]): void;
  onError?(error: Error): void;
}

type RawEntry = [string, string[] | null];

/**
 * Counts the report stream into PostgreSQL through the consumer group `analyzers`: any number of
 * analyzers share the entries (each entry goes to one) and may join or leave at any time.
 *
 * Exactly once: a batch's counters and its entry ids are committed in one transaction
 * (AnalyticsStore.apply skips ids already recorded); only then are the entries acknowledged and
 * deleted. An analyzer killed before its commit counted nothing, and its entries stay pending; one
 * killed after it counted them, and re-reading them adds nothing. Its pending entries are re-read by
 * itself on restart (id `0`), or taken over by another analyzer with XAUTOCLAIM once idle
 * `claimIdleMs`.
 */
export class ReportAnalyzer {
  private readonly logger = new Logger(ReportAnalyzer.name);
  private stopped = false;
  private loop?: Promise<void>;
  private groupReady = false;
  private ownPendingDone = false;
  private lastClaimMs = 0;

  constructor(
    private readonly redis: Redis,
    private readonly store: AnalyticsStore,
    private readonly gifts: GiftDirectory,
    private readonly opts: ReportAnalyzerOptions,
    private readonly events: ReportAnalyzerEvents = {},
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops after the batch in hand is committed and acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.round();
        failures = 0;
      } catch (err) {
        failures += 1;
        this.events.onError?.(err as Error);
        if (/NOGROUP/.test((err as Error).message)) this.groupReady = false;
        if (failures === 1 || failures % 20 === 0) this.logger.warn({ event: 'analyzer.failed', failures, error: (err as Error).message });
        await sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
      }
    }
  }

  /** Reads one batch (own pending first, then others' idle ones, then new ones) and counts it. Returns how many entries it read. */
  async round(): Promise<number> {
    await this.ensureGroup();
    const raw = await this.next();
    if (raw.length === 0) return 0;
    const entries = raw.map(([id, fields]) => parseReport(id, fields)).filter((e): e is ReportEntry => e !== undefined);
    const places = await this.gifts.places(entries.map((e) => e.giftId));
    const ids = raw.map(([id]) => id);
    const { fresh } = await this.store.apply(ids, (isFresh) => countersOf(entries.filter((e) => isFresh.has(e.id)), places));
    if (this.opts.faultKillAfterCommit) process.kill(process.pid, 'SIGKILL');
    await this.redis.pipeline().xack(this.opts.stream, ANALYZER_GROUP, ...ids).xdel(this.opts.stream, ...ids).exec();
    const now = Date.now();
    this.events.onCommitted?.(raw.length, fresh, entries.map((e) => Math.max(0, now - e.at)));
    return raw.length;
  }

  private async next(): Promise<RawEntry[]> {
    const { stream, consumer, batchSize } = this.opts;
    if (!this.ownPendingDone) {
      const own = await this.readGroup('0', false);
      if (own.length > 0) return own;
      this.ownPendingDone = true;
    }
    if (Date.now() - this.lastClaimMs >= this.opts.claimIdleMs / 2) {
      this.lastClaimMs = Date.now();
      const [, claimed] = (await this.redis.xautoclaim(stream, ANALYZER_GROUP, consumer, this.opts.claimIdleMs, '0-0', 'COUNT', batchSize)) as [string, Array<RawEntry | null>];
      const taken = claimed.filter((e): e is RawEntry => e !== null);
      if (taken.length > 0) {
        this.lastClaimMs = 0; // more may be waiting
        return taken;
      }
    }
    return this.readGroup('>', true);
  }

  private async readGroup(id: '0' | '>', block: boolean): Promise<RawEntry[]> {
    const { stream, consumer, batchSize, blockMs } = this.opts;
    const reply = (block
      ? await this.redis.xreadgroup('GROUP', ANALYZER_GROUP, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', stream, id)
      : await this.redis.xreadgroup('GROUP', ANALYZER_GROUP, consumer, 'COUNT', batchSize, 'STREAMS', stream, id)) as Array<[string, RawEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // From the stream's start: reports written before any analyzer ran are counted too.
      await this.redis.xgroup('CREATE', this.opts.stream, ANALYZER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groupReady = true;
  }

  /** Entries of the stream not yet delivered to any analyzer (Redis 7's group `lag`), or null when unknown. */
  async backlog(): Promise<number | null> {
    const groups = (await this.redis.xinfo('GROUPS', this.opts.stream).catch(() => [])) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === ANALYZER_GROUP) return typeof info.lag === 'number' ? info.lag + Number(info.pending ?? 0) : null;
    }
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
