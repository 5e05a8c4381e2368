import pg from 'pg';
import type { DatabaseConfig } from './database.config.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export type Row = Record<string, unknown>;

/**
 * The PostgreSQL pool of one process (node-postgres). Tables are named with their schema
 * (`db.table('orders')`), not through `search_path`, so nothing depends on per-connection settings
 * (start-up options, poolers, an embedded server); connecting and every query have a client-side
 * timeout, so an unreachable or stuck database fails a caller in bounded time instead of holding it.
 */
export class Database {
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(readonly config: DatabaseConfig) {
    this.pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      connectionTimeoutMillis: Math.min(config.statementTimeoutMs, 3_000),
      idleTimeoutMillis: 30_000,
      query_timeout: config.statementTimeoutMs + 1_000,
      application_name: 'rampart',
    });
    // An idle connection that breaks (database restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
  }

  get schema(): string {
    return this.config.schema;
  }

  /** A table of this database's schema, as a quoted SQL name. */
  table(name: string): string {
    return `${quoteIdent(this.config.schema)}.${quoteIdent(name)}`;
  }

  async query<R extends Row = Row>(text: string, values: unknown[] = []): Promise<R[]> {
    const result = await this.pool.query<R>(text, values);
    return result.rows;
  }

  /** Runs a statement for its effect: how many rows it inserted, updated or deleted (no rows sent back). */
  async execute(text: string, values: unknown[] = []): Promise<number> {
    return (await this.pool.query(text, values)).rowCount ?? 0;
  }

  /** Runs `fn` in one transaction on one connection (see {@link withClient} for a lost connection). */
  async transaction<T>(fn: (query: <R extends Row = Row>(text: string, values?: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      try {
        await client.query('BEGIN');
        const result = await fn(async <R extends Row>(text: string, values: unknown[] = []) => (await client.query<R>(text, values)).rows);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Runs `fn` on one connection of the pool. A connection lost meanwhile fails the pending query
   * (the caller sees the error) and is discarded, never handed out again; its client's 'error'
   * event, which the pool listens to only on idle connections, is taken here: without a listener
   * it would crash the process (found by the analytics e2e cutting PostgreSQL mid-transaction).
   */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let lost = false;
    const onError = () => {
      lost = true;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }

  /**
   * Runs the migrations until they succeed, pausing 0.5 s more after each failure (5 s at most), so
   * an app starts, and serves what needs no PostgreSQL, while the database is unreachable. Resolves
   * with the ids applied, or undefined once `stopped()` (shutdown) ends the attempts.
   */
  async migrateUntilDone(opts: { stopped: () => boolean; onFailure: (attempt: number, error: Error) => void }): Promise<string[] | undefined> {
    for (let attempt = 1; !opts.stopped(); attempt += 1) {
      try {
        return await this.migrate();
      } catch (err) {
        opts.onFailure(attempt, err as Error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5_000)).unref());
      }
    }
    return undefined;
  }

  /** True when the database answers a trivial query. */
  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Brings the schema up to date: creates it if missing and applies, each in its own transaction,
   * the migrations not yet recorded in `schema_migrations`. Safe when several instances start at
   * once: they take one advisory lock per schema, so one applies and the others then find nothing
   * to do. Returns the ids applied now.
   */
  async migrate(migrations: readonly Migration[] = MIGRATIONS): Promise<string[]> {
    return this.withClient((client) => this.migrateOn(client, migrations));
  }

  private async migrateOn(client: pg.PoolClient, migrations: readonly Migration[]): Promise<string[]> {
    const lockKey = `rampart-migrations:${this.config.schema}`;
    const schema = quoteIdent(this.config.schema);
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const journal = this.table('schema_migrations');
      await client.query(`CREATE TABLE IF NOT EXISTS ${journal} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await client.query<{ id: string }>(`SELECT id FROM ${journal}`)).rows.map((r) => r.id));
      const applied: string[] = [];
      for (const migration of [...migrations].sort((x, y) => x.id.localeCompare(y.id))) {
        if (done.has(migration.id)) continue;
        await client.query('BEGIN');
        try {
          // The migration's own statements name no schema: they run with the schema first on the path,
          // set for this transaction only.
          await client.query(`SET LOCAL search_path TO ${schema}`);
          await client.query(migration.sql);
          await client.query(`INSERT INTO ${journal} (id) VALUES ($1)`, [migration.id]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(migration.id);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined);
    }
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** A schema or table name as a quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The database URL without its password, for logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}
