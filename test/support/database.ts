import { randomUUID } from 'node:crypto';
import { Database, quoteIdent } from '@app/platform';

/** The test PostgreSQL: `DATABASE_URL`, else the local one with trust auth (as CI starts it). */
export const testDatabaseUrl = (): string => process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh schema name for one suite (tables of suites never meet, as Redis prefixes keep keys apart). */
export const testSchema = (): string => `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

/** A pool on a fresh, migrated schema of the test database; `drop()` removes the schema and closes. */
export async function useTestDatabase(opts: { schema?: string; url?: string; migrate?: boolean } = {}): Promise<{ db: Database; schema: string; url: string; drop(): Promise<void> }> {
  const schema = opts.schema ?? testSchema();
  const url = opts.url ?? testDatabaseUrl();
  const db = new Database({ url, schema, poolMax: 4, statementTimeoutMs: 10_000 });
  if (opts.migrate !== false) await db.migrate();
  return {
    db,
    schema,
    url,
    drop: async () => {
      await dropSchema(schema, url);
      await db.close();
    },
  };
}

export async function dropSchema(schema: string, url = testDatabaseUrl()): Promise<void> {
  const admin = new Database({ url, schema: 'public', poolMax: 1, statementTimeoutMs: 10_000 });
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await admin.close();
  }
}
