import { hostname } from 'node:os';
import { type DatabaseConfig, deepFreeze, EnvReader, type LogLevelName, readDatabaseConfig, readRedisAndLogging } from '@app/platform';

export type AnalyzerConfig = Readonly<{
  /** Redis of the gifts (their activity and provider). Default redis://127.0.0.1:6379. */
  redisUrl: string;
  /** Redis of the report stream (`REPORT_REDIS_URL`, as on delivery). Default REDIS_URL. */
  reportRedisUrl: string;
  redisPrefix: string;
  logLevel: LogLevelName;
  /** Interface of the HTTP port (health, metrics). Default 127.0.0.1. */
  host: string;
  httpPort: number;
  /** The system of record the aggregates go to. Required. */
  database: Readonly<DatabaseConfig>;
  /** This analyzer's consumer name in the group: stable per instance so a restart re-reads its own pending entries. Default hostname:HTTP_PORT. */
  consumer: string;
  /** Entries read and counted per PostgreSQL transaction. */
  batchSize: number;
  /** Longest wait for new entries in one read, in ms. */
  blockMs: number;
  /** Pending entries of another analyzer idle this long are taken over (it died mid-batch), in ms. */
  claimIdleMs: number;
  /** Time between burn-rate evaluations, in ms. */
  alertEveryMs: number;
  /** Success objective (delivered ÷ settled) of an activity whose configuration sets no `successObjective`, e.g. 0.995. */
  objective: number;
  /** Error-budget period the burn-rate windows are scaled to, in ms (1 day; 30 days = the SRE workbook's windows). */
  budgetPeriodMs: number;
  /** Fewest settled deliveries in a rule's short window for it to fire. */
  minVolume: number;
  /** How long counters are kept, in days. */
  retentionDays: number;
  /** Test-only fault: the process SIGKILLs itself after its first commit, before acknowledging the entries. */
  faultKillAfterCommit: boolean;
}>;

export const ANALYZER_CONFIG = Symbol('ANALYZER_CONFIG');

export function loadAnalyzerConfig(env: NodeJS.ProcessEnv = process.env): AnalyzerConfig {
  const reader = new EnvReader(env);
  const base = readRedisAndLogging(reader);
  const httpPort = reader.int('HTTP_PORT', { min: 1, max: 65535, fallback: 4071 });
  const database = readDatabaseConfig(reader);
  if (!database.url) reader.problems.push('DATABASE_URL must be set: the analyzer writes its aggregates to PostgreSQL');
  const config = {
    ...base,
    reportRedisUrl: reader.redisUrl('REPORT_REDIS_URL', base.redisUrl),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    httpPort,
    database,
    consumer: reader.string('ANALYZER_CONSUMER', { fallback: `${hostname()}:${httpPort}`, pattern: /^[A-Za-z0-9_.:-]{1,128}$/, hint: '1-128 characters of [A-Za-z0-9_.:-]' }),
    batchSize: reader.int('ANALYZER_BATCH', { min: 1, max: 10_000, fallback: 1_000 }),
    blockMs: reader.int('ANALYZER_BLOCK_MS', { min: 10, max: 60_000, fallback: 500 }),
    claimIdleMs: reader.int('ANALYZER_CLAIM_IDLE_MS', { min: 100, max: 3_600_000, fallback: 10_000 }),
    alertEveryMs: reader.int('ANALYZER_ALERT_EVERY_MS', { min: 100, max: 600_000, fallback: 10_000 }),
    objective: reader.number('ANALYZER_OBJECTIVE', { min: 0.5, max: 0.99999, fallback: 0.995 }),
    budgetPeriodMs: reader.int('ANALYZER_BUDGET_PERIOD_MS', { min: 60_000, max: 90 * 86_400_000, fallback: 86_400_000 }),
    minVolume: reader.int('ANALYZER_MIN_VOLUME', { min: 1, max: 1_000_000, fallback: 50 }),
    retentionDays: reader.int('ANALYTICS_RETENTION_DAYS', { min: 1, max: 3650, fallback: 30 }),
    faultKillAfterCommit: env.FAULT_ANALYZER_KILL_AFTER_COMMIT === '1',
  };
  reader.finish('analyzer');
  return deepFreeze(config);
}
