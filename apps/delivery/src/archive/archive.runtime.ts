import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { Metrics, redactDatabaseUrl } from '@app/platform';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { DELIVERY_REDIS } from '../lifecycle/delivery-redis.js';
import { OrderBindingStore } from '../lifecycle/order-binding.store.js';
import { RetiredNumbers } from '../lifecycle/retired-numbers.js';
import { ArchiveAccess } from './archive-access.js';
import { OrderArchiver } from './order.archiver.js';
import { OrderRetention } from './order.retention.js';
import { RecordsArchiver } from './records.archiver.js';
import { RetiredNumbersBuilder } from './retired-numbers.builder.js';

/** How soon an instance without the retired-number filter looks for it again, in ms. */
const FILTER_RETRY_MS = 1_000;

/**
 * The archive's background work on a delivery instance: runs the migrations (retried while
 * PostgreSQL is unreachable; claims never wait for it), then the archiver and, every
 * RETENTION_INTERVAL_MS, a retention pass (one instance at a time), after making sure the
 * retired-number filter is built (built here when missing; retention waits for it). Without
 * DATABASE_URL it only says so: nothing is archived and retention deletes nothing.
 */
@Injectable()
export class ArchiveRuntime implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(ArchiveRuntime.name);
  private archiver?: OrderArchiver;
  private retentionTimer?: NodeJS.Timeout;
  private filterTimer?: NodeJS.Timeout;
  /** The running look for the retired-number filter, if any. */
  private filterLook?: Promise<void>;
  private retentionPass?: Promise<unknown>;
  private stopped = false;
  private starting?: Promise<void>;

  constructor(
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    @Inject(DELIVERY_REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly access: ArchiveAccess,
    private readonly metrics: Metrics,
    private readonly bindings: OrderBindingStore,
    private readonly retiredNumbers: RetiredNumbers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.access.enabled) {
      this.logger.warn({ event: 'archive.off', reason: 'DATABASE_URL is not set: settled orders are not archived and retention deletes nothing' });
      return;
    }
    const archived = this.metrics.counter('rampart_archived_orders_total', 'Settlement entries archived to PostgreSQL and acknowledged');
    const errors = this.metrics.counter('rampart_archive_errors_total', 'Archiver rounds that failed (PostgreSQL or Redis unreachable)');
    const delay = this.metrics.histogram('rampart_archive_delay_seconds', 'Time from an order settling to its archive write being acknowledged');
    // Stable per instance and unique across them (the pod's hostname in Kubernetes, the port locally):
    // a restarted instance re-reads its own pending entries at once.
    const consumer = `${hostname()}:${this.config.tcpPort}`;
    const records = new RecordsArchiver(this.redis, this.keys, this.access.audit!, this.access.activities!, { batchSize: this.config.archive.batchSize });
    this.archiver = new OrderArchiver(this.redis, this.keys, this.access.orders!, {
      consumer,
      batchSize: this.config.archive.batchSize,
      intervalMs: this.config.archive.intervalMs,
      lingerMs: this.config.archive.lingerMs,
      claimIdleMs: this.config.archive.claimIdleMs,
      faultKillBeforeAck: process.env.FAULT_ARCHIVE_KILL_BEFORE_ACK === '1',
    }, {
      onArchived: (delaysMs) => {
        archived.inc(delaysMs.length);
        for (const ms of delaysMs) delay.observe(ms / 1000);
      },
      onError: () => errors.inc(),
    }, records);
    const archiver = this.archiver;
    this.metrics.gauge('rampart_archive_lag_seconds', 'Age of the oldest settled order not yet in PostgreSQL (0 when the archive is current)', [], async () => [
      [{}, (await archiver.lagMs()) / 1000],
    ]);
    this.metrics.gauge('rampart_archive_ready', 'PostgreSQL reachable and migrated at start-up (1), or not yet (0)', [], () => [[{}, this.access.ready ? 1 : 0]]);
    const lockMs = Math.max(this.config.archive.retentionIntervalMs, 10_000);
    const filter = new RetiredNumbersBuilder(this.redis, this.keys, this.retiredNumbers, this.access.orders!, { lockMs, slotBytes: this.config.archive.retiredFilterSlotBytes });
    this.metrics.gauge('rampart_retired_filter_ready', 'The retired-number filter is complete and its size known here (1), or not (0: claims ask PostgreSQL)', [], () => [[{}, this.retiredNumbers.size > 0 ? 1 : 0]]);
    this.starting = this.migrateThenStart(filter, lockMs);
    // The first look is awaited (at most a second), so a claim the instance serves finds the filter.
    await Promise.race([this.lookForFilter(filter), new Promise((resolve) => setTimeout(resolve, FILTER_RETRY_MS).unref())]);
  }

  /**
   * Uses the retired-number filter as soon as this instance can, tried every second until it has it:
   * one found complete in Redis at once, whether PostgreSQL answers or not (an instance restarted
   * while PostgreSQL is away would otherwise bind every new number as "unknown" and, PostgreSQL not
   * answering either, let an archived order's key start a second order: torture seed 3647355196);
   * once the archive is ready, one built here when missing (or by the instance that took the build's
   * lock). Until then each of its claims on a new number asks PostgreSQL.
   */
  private lookForFilter(filter: RetiredNumbersBuilder): Promise<void> {
    clearTimeout(this.filterTimer);
    // One look at a time: a look asked for during another runs after it (the migrations just ended:
    // now it may build).
    const look: Promise<void> = (this.filterLook ?? Promise.resolve())
      .then(() => {
        if (this.stopped || this.retiredNumbers.size > 0) return true;
        return this.access.ready ? filter.ensure() : filter.adoptBuilt();
      })
      .catch((err: unknown) => {
        this.logger.warn({ event: 'retired-numbers.build-failed', error: (err as Error).message });
        return false;
      })
      .then((ready) => {
        if (this.filterLook !== look) return;
        this.filterLook = undefined;
        if (!ready && !this.stopped) (this.filterTimer = setTimeout(() => void this.lookForFilter(filter), FILTER_RETRY_MS)).unref();
      });
    this.filterLook = look;
    return look;
  }

  private async migrateThenStart(filter: RetiredNumbersBuilder, lockMs: number): Promise<void> {
    const db = this.access.db!;
    const applied = await db.migrateUntilDone({
      stopped: () => this.stopped,
      onFailure: (attempt, error) => {
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ event: 'archive.migrate.failed', attempt, error: error.message });
      },
    });
    if (!applied || this.stopped) return;
    this.access.ready = true;
    this.logger.log({ event: 'archive.ready', database: redactDatabaseUrl(db.config.url), schema: db.schema, migrationsApplied: applied });
    this.archiver?.start();
    void this.lookForFilter(filter); // built at once if missing, as PostgreSQL now answers
    const retention = new OrderRetention(this.redis, this.keys, this.access.orders!, this.bindings, { retentionS: this.config.archive.retentionS, lockMs });
    const retired = this.metrics.counter('rampart_retention_orders_retired_total', 'Settled, archived orders removed from Redis by retention');
    // The filter before every retention pass (retention retires nothing until it is complete).
    const round = () => {
      this.retentionPass ??= filter
        .ensure()
        .then(async (ready) => {
          const report = ready ? await retention.pass() : undefined;
          if (report) retired.inc(report.retired);
        })
        .catch((err: unknown) => this.logger.warn({ event: 'retention.failed', error: (err as Error).message }))
        .finally(() => (this.retentionPass = undefined));
    };
    this.retentionTimer = setInterval(round, this.config.archive.retentionIntervalMs);
    this.retentionTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.starting;
    clearInterval(this.retentionTimer);
    clearTimeout(this.filterTimer);
    await this.retentionPass;
    await this.archiver?.stop();
  }

  /** After every instance's drain: claims still finishing may ask the archive until then. */
  async onApplicationShutdown(): Promise<void> {
    await this.access.db?.close();
  }
}
