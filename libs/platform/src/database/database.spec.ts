import type { AdminOrderView } from '@app/contracts';
import { dropSchema, testDatabaseUrl, testSchema, useTestDatabase } from '../../../../test/support/database.js';
import { PgProxy } from '../../../../test/support/pg-proxy.js';
import { freePort } from '../../../../test/support/ports.js';
import { Database } from './database.js';
import { AuditArchive } from './audit-archive.js';
import { OrderArchive } from './order-archive.js';
import { MIGRATIONS } from './migrations/index.js';

// On the real PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), one schema per run.
describe('Database migrations', () => {
  it('creates the schema and applies every migration once, also when several instances start at once', async () => {
    const schema = testSchema();
    const dbs = Array.from({ length: 4 }, () => new Database({ url: testDatabaseUrl(), schema, poolMax: 2, statementTimeoutMs: 10_000 }));
    try {
      const applied = await Promise.all(dbs.map((db) => db.migrate()));
      expect(applied.flat()).toEqual(['001-initial', '002-analytics', '003-orders-write-cost']); // exactly one instance applied each
      expect(await dbs[0].migrate()).toEqual([]);
      const tables = await dbs[0].query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
      expect(tables.map((t) => t.table_name)).toEqual(['activity_versions', 'analytics_alerts', 'analytics_applied', 'analytics_counts', 'audit_log', 'orders', 'schema_migrations']);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await dropSchema(schema);
    }
  });

  it('rolls back a failing migration and records nothing of it', async () => {
    const t = await useTestDatabase();
    try {
      await expect(t.db.migrate([{ id: '900-broken', sql: 'CREATE TABLE half (id int); SELECT * FROM no_such_table' }])).rejects.toThrow(/900-broken/);
      const rows = await t.db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'half'", [t.schema]);
      expect(rows).toHaveLength(0);
      expect(await t.db.query(`SELECT id FROM ${t.db.table('schema_migrations')} WHERE id = '900-broken'`)).toHaveLength(0);
    } finally {
      await t.drop();
    }
  });
});

describe('Database: a connection lost mid-transaction (regression: it crashed the analyzer)', () => {
  it('fails that transaction, discards the connection, keeps the process up, and the next transaction works', async () => {
    const proxy = new PgProxy(await freePort());
    await proxy.up();
    const schema = testSchema();
    const db = new Database({ url: proxy.url(), schema, poolMax: 2, statementTimeoutMs: 10_000 });
    try {
      await db.migrate();
      const pending = db.transaction(async (query) => {
        await query('SELECT 1');
        await proxy.down(); // the connection is cut while the transaction holds it
        return query('SELECT pg_sleep(0.2)');
      });
      await expect(pending).rejects.toThrow();
      await proxy.up();
      expect(await db.transaction((query) => query<{ one: number }>('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
    } finally {
      await proxy.down();
      await db.close();
      await dropSchema(schema);
    }
  });
});

describe('OrderArchive', () => {
  const order = (version: number, status: AdminOrderView['status']): AdminOrderView => ({
    orderId: 'o-1', giftId: 'g1', activityId: 'a1', userId: 'u1', status, attempts: 2, version,
    createdAt: '2026-01-01T00:00:00.000Z', updatedAt: `2026-01-01T00:00:0${version}.000Z`,
    ...(status === 'failed' ? { failure: 'refused' as const, error: 'provider said no' } : { providerRef: 'ref-9' }),
    history: [{ status: 'delivering', at: '2026-01-01T00:00:00.000Z', actor: 'claim' }, { status, at: `2026-01-01T00:00:0${version}.000Z`, actor: 'worker', reason: 'a|b' }],
  });

  it('upserts idempotently: the same snapshot twice is one write, an older one never overwrites a newer one', async () => {
    const t = await useTestDatabase();
    const archive = new OrderArchive(t.db);
    try {
      expect(await archive.upsert([order(3, 'delivered')])).toBe(1);
      expect(await archive.upsert([order(3, 'delivered')])).toBe(0);
      expect(await archive.upsert([order(2, 'failed')])).toBe(0);
      expect(await archive.find('o-1')).toEqual(order(3, 'delivered'));
      expect(await archive.upsert([order(4, 'failed')])).toBe(1);
      expect(await archive.find('o-1')).toEqual(order(4, 'failed'));
      expect(await archive.versions(['o-1', 'o-2'])).toEqual(new Map([['o-1', 4]]));
      expect(await archive.archiveCounts(['o-1'])).toEqual(new Map([['o-1', 2]]));
      const { history: _history, failure: _failure, error: _error, ...view } = order(4, 'failed');
      expect(await archive.ofUser('u1', 10)).toEqual([{ ...view, error: 'provider said no' }]);
      expect(await archive.find('nope')).toBeUndefined();
    } finally {
      await t.drop();
    }
  });

  it('lists by filters, newest first, ties by id descending, strictly after a position', async () => {
    const t = await useTestDatabase();
    const archive = new OrderArchive(t.db);
    try {
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      const mk = (orderId: string, createdS: number, userId: string, status: AdminOrderView['status']): AdminOrderView => ({
        orderId, giftId: 'g1', activityId: 'a1', userId, status, attempts: 1, version: 2, createdAt: at(createdS), updatedAt: at(createdS + 1), history: [],
      });
      await archive.upsert([mk('o1', 1, 'u1', 'delivered'), mk('o2', 2, 'u2', 'failed'), mk('o3', 2, 'u1', 'delivered'), mk('o4', 3, 'u1', 'delivered')]);
      const ids = (rows: Array<{ orderId: string }>) => rows.map((r) => r.orderId);
      expect(ids(await archive.list({ limit: 10 }))).toEqual(['o4', 'o3', 'o2', 'o1']);
      const page = await archive.list({ limit: 2 });
      expect(ids(page)).toEqual(['o4', 'o3']);
      expect(ids(await archive.list({ limit: 2, after: { s: page[1].createdAtMs, o: page[1].orderId } }))).toEqual(['o2', 'o1']);
      expect(ids(await archive.list({ limit: 10, userId: 'u1', status: 'delivered' }))).toEqual(['o4', 'o3', 'o1']);
      expect(ids(await archive.list({ limit: 10, giftId: 'g2' }))).toEqual([]);
    } finally {
      await t.drop();
    }
  });

  it('keeps the orders archived before 003 (orders_activity dropped): read back the same, and upserted over as before', async () => {
    const t = await useTestDatabase({ migrate: false });
    try {
      await t.db.migrate(MIGRATIONS.filter((m) => m.id < '003'));
      const archive = new OrderArchive(t.db);
      expect(await archive.upsert([order(3, 'delivered')])).toBe(1);
      expect(await t.db.migrate()).toEqual(['003-orders-write-cost']);
      const indexes = await t.db.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'orders' ORDER BY 1", [t.schema]);
      expect(indexes.map((i) => i.indexname)).toEqual(['orders_gift_created', 'orders_pkey', 'orders_user_created']);
      expect(await archive.find('o-1')).toEqual(order(3, 'delivered'));
      expect(await archive.upsert([order(4, 'failed')])).toBe(1);
      expect(await archive.find('o-1')).toEqual(order(4, 'failed'));
    } finally {
      await t.drop();
    }
  });

  it('upserts a batch in one statement whatever its values hold (quotes, backslashes, braces, nulls, non-ASCII in the history)', async () => {
    const t = await useTestDatabase();
    const archive = new OrderArchive(t.db);
    try {
      const tricky = 'say "hi" \\ {a,b} \'q\' NULL, 漢字 😀';
      const orders = Array.from({ length: 3 }, (_, i): AdminOrderView => ({
        ...order(3, i === 1 ? 'failed' : 'delivered'),
        orderId: `o-${i}`,
        ...(i === 2 ? { error: tricky } : {}),
        history: [{ status: 'delivered', at: '2026-01-01T00:00:03.000Z', actor: 'operator', reason: tricky }],
      }));
      expect(await archive.upsert(orders)).toBe(3);
      expect(await archive.upsert(orders.slice(0, 1))).toBe(0); // the same statement with another batch size
      for (const o of orders) expect(await archive.find(o.orderId)).toEqual(o);
      expect([...(await archive.findMany(['o-0', 'o-2', 'none'])).keys()].sort()).toEqual(['o-0', 'o-2']);
    } finally {
      await t.drop();
    }
  });

  it('keeps every audit entry once by its stream id', async () => {
    const t = await useTestDatabase();
    const audit = new AuditArchive(t.db);
    try {
      const entry = { id: '1-0', time: '2026-01-01T00:00:00.000Z', actor: 'ops', action: 'flag.set', target: 'x', reason: 'why' };
      await audit.insert([entry, { ...entry, id: '2-0' }]);
      await audit.insert([entry]);
      expect((await audit.list(10)).map((e) => e.id)).toEqual(['2-0', '1-0']);
    } finally {
      await t.drop();
    }
  });
});
