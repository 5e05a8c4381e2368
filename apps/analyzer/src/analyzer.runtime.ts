import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { AnalyticsStore, burnWindows, closeRedis, Database, Metrics, redactDatabaseUrl } from '@app/platform';
import { ANALYZER_CONFIG, type AnalyzerConfig } from './analyzer.config.js';
import { BurnMonitor } from './burn.monitor.js';
import { ActivityObjectives, GiftDirectory } from './gift-directory.js';
import { ReportAnalyzer } from './report.analyzer.js';

export const GIFTS_REDIS = Symbol('GIFTS_REDIS');
export const STREAM_REDIS = Symbol('STREAM_REDIS');

const PRUNE_EVERY_MS = 10 * 60_000;
/** Applied-entry ids are kept this long: far beyond any pending entry's takeover (ANALYZER_CLAIM_IDLE_MS). */
const APPLIED_KEPT_MS = 60 * 60_000;

/**
 * The analyzer's work: migrations (retried while PostgreSQL is unreachable), then the report
 * consumer, the burn-rate monitor and a pruning pass every 10 minutes. SIGTERM stops reading, lets
 * the batch in hand commit and acknowledge, then closes PostgreSQL and Redis.
 */
@Injectable()
export class AnalyzerRuntime implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AnalyzerRuntime.name);
  private readonly store: AnalyticsStore;
  private readonly analyzer: ReportAnalyzer;
  private readonly monitor: BurnMonitor;
  private stopped = false;
  private starting?: Promise<void>;
  private pruneTimer?: NodeJS.Timeout;
  /** Migrations applied: the analyzer counts only then. */
  ready = false;

  constructor(
    @Inject(ANALYZER_CONFIG) private readonly config: AnalyzerConfig,
    @Inject(GIFTS_REDIS) private readonly giftsRedis: Redis,
    @Inject(STREAM_REDIS) private readonly streamRedis: Redis,
    private readonly db: Database,
    keys: RedisKeys,
    metrics: Metrics,
  ) {
    this.store = new AnalyticsStore(db);
    const read = metrics.counter('rampart_analyzer_entries_total', 'Report-stream entries committed to PostgreSQL and acknowledged, by whether they were new or already counted (re-read after a crash)', ['kind']);
    const errors = metrics.counter('rampart_analyzer_errors_total', 'Analyzer rounds that failed (PostgreSQL or Redis unreachable)');
    const lag = metrics.histogram('rampart_analyzer_lag_seconds', 'Time from a claim or settlement to its count being committed');
    this.analyzer = new ReportAnalyzer(this.streamRedis, this.store, new GiftDirectory(giftsRedis, keys), {
      stream: keys.reports(),
      consumer: config.consumer,
      batchSize: config.batchSize,
      blockMs: config.blockMs,
      claimIdleMs: config.claimIdleMs,
      faultKillAfterCommit: config.faultKillAfterCommit,
    }, {
      onCommitted: (count, fresh, agesMs) => {
        read.inc({ kind: 'new' }, fresh);
        if (count > fresh) read.inc({ kind: 'repeat' }, count - fresh);
        for (const ms of agesMs) lag.observe(ms / 1000);
      },
      onError: () => errors.inc(),
    });
    this.monitor = new BurnMonitor(this.store, new ActivityObjectives(giftsRedis, keys, config.objective), {
      rules: burnWindows(config.budgetPeriodMs),
      minVolume: config.minVolume,
      everyMs: config.alertEveryMs,
      maxSeries: 20,
    });
    metrics.gauge('rampart_analyzer_backlog', 'Report-stream entries not yet counted (undelivered + pending)', [], async () => [[{}, (await this.analyzer.backlog()) ?? 0]]);
    metrics.gauge('rampart_activity_burn_alert', 'Burn-rate alerts firing per activity (1), the 20 worst at most; no series when none fires', ['activity', 'rule'], () =>
      this.monitor.current().map((a) => [{ activity: a.activityId, rule: a.rule }, 1] as const));
    metrics.gauge('rampart_activity_burn_rate', 'Short-window burn rate of the firing alerts (error ratio ÷ budget)', ['activity', 'rule'], () =>
      this.monitor.current().map((a) => [{ activity: a.activityId, rule: a.rule }, a.shortBurn] as const));
  }

  onApplicationBootstrap(): void {
    this.starting = this.migrateThenStart();
  }

  private async migrateThenStart(): Promise<void> {
    const applied = await this.db.migrateUntilDone({
      stopped: () => this.stopped,
      onFailure: (attempt, error) => {
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ event: 'analyzer.migrate.failed', attempt, error: error.message });
      },
    });
    if (!applied || this.stopped) return;
    this.ready = true;
    this.logger.log({ event: 'analyzer.ready', database: redactDatabaseUrl(this.db.config.url), schema: this.db.schema, migrationsApplied: applied, consumer: this.config.consumer });
    this.analyzer.start();
    this.monitor.start();
    const prune = () => {
      this.store.prune(APPLIED_KEPT_MS, this.config.retentionDays * 86_400_000).then(
        (removed) => this.logger.log({ event: 'analyzer.pruned', ...removed }),
        (err: unknown) => this.logger.warn({ event: 'analyzer.prune.failed', error: (err as Error).message }),
      );
    };
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pruneTimer);
    await this.starting;
    await Promise.all([this.analyzer.stop(), this.monitor.stop()]);
    await this.db.close();
    await Promise.all([closeRedis(this.streamRedis), closeRedis(this.giftsRedis)]);
  }
}
