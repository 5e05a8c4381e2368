import { type DatabaseConfig, deepFreeze, EnvReader, readCommonConfig, readRelease, readDatabaseConfig, type CommonConfig } from '@app/platform';

export type DeliveryConfig = Readonly<
  CommonConfig & {
    /** Interface the TCP transport and HTTP port bind to. Default 127.0.0.1. */
    host: string;
    tcpPort: number;
    httpPort: number;
    /** The release this instance runs (`RELEASE`, 1-32 of `[A-Za-z0-9._-]`): gateways route by it during a gray release. Default `stable`. */
    release: string;
    /** Time a provider has to answer a delivery once the request is sent, in ms. Default 2000. */
    providerTimeoutMs: number;
    /** Time for a connection to a provider to open, in ms. Default 500. */
    providerConnectTimeoutMs: number;
    /** Uncertain orders a user may hold per gift before claims of it get 429. Default 2. */
    uncertainLimit: number;
    /** How long a repeated claim waits for the concurrent first one to settle, in ms. Default 2500. */
    claimSettleWaitMs: number;
    /**
     * Lease of a running delivery attempt, in ms: renewed every third of it while the attempt runs,
     * so it ends only when the attempt's process died or stalled; then the reconciler recovers the
     * order (Redis time, the same clock for every instance). Default 6000.
     */
    attemptLeaseMs: number;
    /** How often a queued order is checked for a live job (and re-queued if it has none), in ms. Default 30000. */
    reconcileQueuedAfterMs: number;
    /** How often each instance looks for orders nobody owns, in ms. Default 2000. */
    sweepIntervalMs: number;
    /** How often each instance looks at the split gifts' buckets (and refills the low ones), in ms. Default 100. */
    rebalanceIntervalMs: number;
    /** Longest a provider call may take in all (headers and body), in ms. Default: provider timeout + 500 (under the gateway's slow timeout with the defaults). */
    providerTotalDeadlineMs: number;
    /** Largest provider answer body read, in bytes; a longer one counts as a failed answer. Default 65536. */
    providerMaxBodyBytes: number;
    /** How long a refused claim's record is kept (a repeat gets the same refusal meanwhile), in s. Default 86400. */
    refusalRetentionS: number;
    /**
     * Replicas that must hold an attempt's send record before a provider without order numbers is
     * called (Redis WAIT): 'auto' counts the master's connected replicas; 0 turns the fence off.
     */
    fenceReplicas: number | 'auto';
    /** Time the replicas have to acknowledge, in ms; past it the call is not sent (the order is queued). Default 500. */
    fenceTimeoutMs: number;
    /** Longest a SIGTERM waits for in-flight claims and jobs before closing clients, in ms. Default 20000. */
    shutdownDrainMs: number;
    /** Tries per queued delivery before it is dead-lettered. Default 12. */
    queueAttempts: number;
    /** First retry delay, doubled per retry, in ms. Default 2000. */
    queueBackoffBaseMs: number;
    /** Largest retry delay, in ms. Default 300000 (5 min). */
    queueBackoffMaxMs: number;
    /** Age after which an order's next failed attempt is its last, in ms. Default 1800000 (30 min). */
    queueMaxAgeMs: number;
    /** Jobs one instance works on at once. Default 16. */
    queueConcurrency: number;
    /** Job lock; a worker silent this long is taken as dead and its job retried, in ms. Default 30000. */
    queueLockMs: number;
    provider: Readonly<{
      /** Calls to one provider at once (its bulkhead). Default 64. */
      maxConcurrent: number;
      /** Calls waiting for a slot; beyond, the order is queued instead. Default 64. */
      maxQueued: number;
      /** Failure percentage that opens a provider's circuit. Default 50. */
      failureThresholdPercent: number;
      /** Calls in the breaker window before the percentage counts. Default 10. */
      volumeThreshold: number;
      /** Time an open circuit waits before a trial call, in ms. Default 5000. */
      halfOpenAfterMs: number;
    }>;
    /** The system of record (`DATABASE_URL`, `DATABASE_SCHEMA`); no URL: no archiver and no retention. */
    database: Readonly<DatabaseConfig>;
    archive: Readonly<{
      /** Order events read per batch by the archiver (`ARCHIVE_BATCH_SIZE`). Default 500. */
      batchSize: number;
      /** Pause between archiver rounds that found nothing, in ms (`ARCHIVE_INTERVAL_MS`). Default 500. */
      intervalMs: number;
      /**
       * Pause after a round that archived less than a full batch, in ms (`ARCHIVE_LINGER_MS`): under load
       * settlements gather into larger batches (fewer reads and statements per order) for at most this much
       * more archive delay. 0: none. Default 250.
       */
      lingerMs: number;
      /** Pending events of a silent archiver are taken over after this idle time, in ms (`ARCHIVE_CLAIM_IDLE_MS`). Default 30000. */
      claimIdleMs: number;
      /**
       * Time a settled order's data stays in Redis after its activity ended, in s (`RETENTION_SECONDS`);
       * then it leaves Redis once the archive holds it. Default 604800 (7 days).
       */
      retentionS: number;
      /** How often each instance looks for activities past retention, in ms (`RETENTION_INTERVAL_MS`). Default 60000. */
      retentionIntervalMs: number;
      /** Longest a claim waits for the archive to say whether it holds an order number, in ms (`ARCHIVE_LOOKUP_TIMEOUT_MS`). Default 200. */
      lookupTimeoutMs: number;
      /**
       * Bytes of each of the retired-number filter's 16,384 shards (`RETIRED_FILTER_SLOT_BYTES`), used
       * when the filter is first built; from then on its size is the built one. About 1% false
       * positives (claims that ask PostgreSQL) up to slot bytes x 16,384 x 8 / 9.6 retired numbers.
       * Default 256 (4 MiB: ~3.5 M numbers).
       */
      retiredFilterSlotBytes: number;
      /** Age after which BullMQ completed and failed jobs are dropped, in s (`QUEUE_KEEP_SECONDS`). Default 604800. */
      queueKeepS: number;
    }>;
    report: Readonly<{
      /** Redis of the report stream (non-essential; may be a separate instance). Default REDIS_URL. */
      redisUrl: string;
      /** Time a report flush may take before its batch is dropped, in ms. Default 20. */
      flushTimeoutMs: number;
      /** Reports held in memory at most (drop-oldest beyond). Default 10000. */
      maxBuffered: number;
    }>;
  }
>;

export const DELIVERY_CONFIG = Symbol('DELIVERY_CONFIG');

export function loadDeliveryConfig(env: NodeJS.ProcessEnv = process.env): DeliveryConfig {
  const reader = new EnvReader(env);
  const partial = {
    ...readCommonConfig(reader),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    tcpPort: reader.int('TCP_PORT', { min: 1, max: 65535, fallback: 4101 }),
    httpPort: reader.int('HTTP_PORT', { min: 1, max: 65535, fallback: 4151 }),
    release: readRelease(reader),
    providerTimeoutMs: reader.int('PROVIDER_TIMEOUT_MS', { min: 10, max: 60_000, fallback: 2_000 }),
    providerConnectTimeoutMs: reader.int('PROVIDER_CONNECT_TIMEOUT_MS', { min: 10, max: 30_000, fallback: 500 }),
    uncertainLimit: reader.int('UNCERTAIN_LIMIT', { min: 1, max: 1_000, fallback: 2 }),
    claimSettleWaitMs: reader.int('CLAIM_SETTLE_WAIT_MS', { min: 0, max: 60_000, fallback: 2_500 }),
    sweepIntervalMs: reader.int('SWEEP_INTERVAL_MS', { min: 100, max: 600_000, fallback: 2_000 }),
    rebalanceIntervalMs: reader.int('REBALANCE_INTERVAL_MS', { min: 10, max: 60_000, fallback: 100 }),
    queueAttempts: reader.int('QUEUE_ATTEMPTS', { min: 1, max: 100, fallback: 12 }),
    queueBackoffBaseMs: reader.int('QUEUE_BACKOFF_BASE_MS', { min: 1, max: 600_000, fallback: 2_000 }),
    queueBackoffMaxMs: reader.int('QUEUE_BACKOFF_MAX_MS', { min: 1, max: 3_600_000, fallback: 300_000 }),
    queueMaxAgeMs: reader.int('QUEUE_MAX_AGE_MS', { min: 1_000, max: 7 * 86_400_000, fallback: 1_800_000 }),
    queueConcurrency: reader.int('QUEUE_CONCURRENCY', { min: 1, max: 1_000, fallback: 16 }),
    queueLockMs: reader.int('QUEUE_LOCK_MS', { min: 1_000, max: 600_000, fallback: 30_000 }),
    provider: {
      maxConcurrent: reader.int('PROVIDER_MAX_CONCURRENT', { min: 1, max: 10_000, fallback: 64 }),
      maxQueued: reader.int('PROVIDER_MAX_QUEUED', { min: 0, max: 100_000, fallback: 64 }),
      failureThresholdPercent: reader.int('PROVIDER_BREAKER_FAILURE_PERCENT', { min: 1, max: 100, fallback: 50 }),
      volumeThreshold: reader.int('PROVIDER_BREAKER_VOLUME', { min: 1, max: 100_000, fallback: 10 }),
      halfOpenAfterMs: reader.int('PROVIDER_BREAKER_HALF_OPEN_MS', { min: 100, max: 600_000, fallback: 5_000 }),
    },
  };
  const report = {
    redisUrl: reader.redisUrl('REPORT_REDIS_URL', partial.redisUrl),
    flushTimeoutMs: reader.int('REPORT_FLUSH_TIMEOUT_MS', { min: 1, max: 10_000, fallback: 20 }),
    maxBuffered: reader.int('REPORT_BUFFER_MAX', { min: 1, max: 1_000_000, fallback: 10_000 }),
  };
  const lifecycle = {
    attemptLeaseMs: reader.int('ATTEMPT_LEASE_MS', { min: 300, max: 600_000, fallback: 6_000 }),
    reconcileQueuedAfterMs: reader.int('RECONCILE_QUEUED_AFTER_MS', { min: 100, max: 3_600_000, fallback: 30_000 }),
    providerTotalDeadlineMs: reader.int('PROVIDER_TOTAL_DEADLINE_MS', { min: 10, max: 120_000, fallback: partial.providerTimeoutMs + 500 }),
    providerMaxBodyBytes: reader.int('PROVIDER_MAX_BODY_BYTES', { min: 256, max: 16_777_216, fallback: 65_536 }),
    refusalRetentionS: reader.int('REFUSAL_RETENTION_SECONDS', { min: 1, max: 365 * 86_400, fallback: 86_400 }),
    fenceReplicas: readFenceReplicas(reader, env),
    fenceTimeoutMs: reader.int('REDIS_WAIT_TIMEOUT_MS', { min: 1, max: 60_000, fallback: 500 }),
    shutdownDrainMs: reader.int('SHUTDOWN_DRAIN_MS', { min: 0, max: 600_000, fallback: 20_000 }),
  };
  const database = readDatabaseConfig(reader);
  const archive = {
    batchSize: reader.int('ARCHIVE_BATCH_SIZE', { min: 1, max: 5_000, fallback: 500 }),
    intervalMs: reader.int('ARCHIVE_INTERVAL_MS', { min: 10, max: 600_000, fallback: 500 }),
    lingerMs: reader.int('ARCHIVE_LINGER_MS', { min: 0, max: 10_000, fallback: 250 }),
    claimIdleMs: reader.int('ARCHIVE_CLAIM_IDLE_MS', { min: 100, max: 3_600_000, fallback: 30_000 }),
    retentionS: reader.int('RETENTION_SECONDS', { min: 0, max: 10 * 365 * 86_400, fallback: 604_800 }),
    retentionIntervalMs: reader.int('RETENTION_INTERVAL_MS', { min: 100, max: 86_400_000, fallback: 60_000 }),
    lookupTimeoutMs: reader.int('ARCHIVE_LOOKUP_TIMEOUT_MS', { min: 10, max: 10_000, fallback: 200 }),
    retiredFilterSlotBytes: reader.int('RETIRED_FILTER_SLOT_BYTES', { min: 1, max: 65_536, fallback: 256 }),
    queueKeepS: reader.int('QUEUE_KEEP_SECONDS', { min: 1, max: 365 * 86_400, fallback: 604_800 }),
  };
  reader.finish('delivery');
  return deepFreeze({ ...partial, ...lifecycle, database, archive, report });
}

function readFenceReplicas(reader: EnvReader, env: NodeJS.ProcessEnv): number | 'auto' {
  if ((env.REDIS_WAIT_REPLICAS ?? 'auto') === 'auto') return 'auto';
  return reader.int('REDIS_WAIT_REPLICAS', { min: 0, max: 16, fallback: 0 });
}
