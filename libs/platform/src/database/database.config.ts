import type { EnvReader } from '../config/env-reader.js';

/** Where the system of record (PostgreSQL) is. */
export interface DatabaseConfig {
  /** `DATABASE_URL` (postgres://user:pass@host:port/db); empty: no archive (retention stays off). */
  url: string;
  /**
   * `DATABASE_SCHEMA`: the schema every table lives in (created by the migrations), so several
   * deployments or test suites share one database the way Redis prefixes share one Redis. Default `public`.
   */
  schema: string;
  /** `DATABASE_POOL_MAX`: connections one process keeps at most. Default 5. */
  poolMax: number;
  /** `DATABASE_STATEMENT_TIMEOUT_MS`: longest a query may take before the caller gets an error, in ms. Default 5000. */
  statementTimeoutMs: number;
}

export function readDatabaseConfig(reader: EnvReader): DatabaseConfig {
  const url = reader.string('DATABASE_URL', { fallback: '' });
  if (url && !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
    // Named, never echoed: the URL may carry a password.
    reader.problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  return {
    url,
    schema: reader.string('DATABASE_SCHEMA', { fallback: 'public', pattern: /^[a-z_][a-z0-9_]{0,62}$/, hint: '1-63 characters of [a-z0-9_], not starting with a digit' }),
    poolMax: reader.int('DATABASE_POOL_MAX', { min: 1, max: 100, fallback: 5 }),
    statementTimeoutMs: reader.int('DATABASE_STATEMENT_TIMEOUT_MS', { min: 100, max: 600_000, fallback: 5_000 }),
  };
}
