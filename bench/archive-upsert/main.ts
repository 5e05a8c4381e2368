/**
 * bench:archive-upsert — what one archived order costs PostgreSQL to write, the archiver's statement
 * and schema before this round's change against now, in one run:
 * - before: the history sent as a `jsonb[]` array, the schema of migrations 001-002 (three secondary
 *   indexes); the statement as `OrderArchive.upsert` wrote it then (copied below);
 * - now: `OrderArchive.upsert` itself (history sent as `json[]`, converted to the jsonb column row by
 *   row) on every migration (003 dropped the unused `orders_activity` index).
 * Batches of `UPSERT_BATCH` (500) orders shaped like a delivered claim's (three history lines),
 * `UPSERT_ROWS` (40,000) orders a round, rounds before/now/now/before twice. Per round: CPU of the
 * PostgreSQL backend that ran the statements (`/proc/<pid>/stat`; the pool holds one connection) and
 * of this process, per order. Needs a PostgreSQL (`DATABASE_URL`, default the test suites' one); each
 * side has a schema of its own.
 */
import { readFileSync } from 'node:fs';
import type { AdminOrderView } from '@app/contracts';
import { Database, OrderArchive } from '@app/platform';
import { MIGRATIONS } from '../../libs/platform/src/database/migrations/index.js';
import { dropSchema, testDatabaseUrl, testSchema } from '../../test/support/database.js';
import { runBench } from '../support/bench-run.js';

const ROWS = Number(process.env.UPSERT_ROWS ?? 40_000);
const BATCH = Number(process.env.UPSERT_BATCH ?? 500);

/** CPU time of a process so far, in ms (Linux clock ticks of 10 ms: rounds are long enough for it). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function orders(from: number, count: number): AdminOrderView[] {
  const now = Date.now();
  const at = (ms: number) => new Date(ms).toISOString();
  return Array.from({ length: count }, (_, i) => ({
    orderId: String(1_000_000_000_000 + from + i), giftId: 'gift-bench-1', activityId: 'activity-bench', userId: `user-${(from + i) % 2_000}`,
    status: 'delivered', attempts: 1, version: 4, createdAt: at(now), updatedAt: at(now + 5), providerRef: `ref-${from + i}`,
    history: [{ status: 'reserved', at: at(now), actor: 'claim' }, { status: 'delivering', at: at(now + 1), actor: 'claim' }, { status: 'delivered', at: at(now + 5), actor: 'worker' }],
  }));
}

const COLUMNS = ['order_id', 'user_id', 'gift_id', 'activity_id', 'status', 'attempts', 'version', 'created_at', 'updated_at', 'error', 'failure', 'provider_ref', 'resolved_by', 'history'];
const TYPES_BEFORE = ['text', 'text', 'text', 'text', 'text', 'int', 'int', 'timestamptz', 'timestamptz', 'text', 'text', 'text', 'text', 'jsonb'];

/** The archiver's upsert as it was before this round (history as `jsonb[]`). */
function upsertBefore(db: Database, batch: AdminOrderView[]): Promise<number> {
  const columns: unknown[][] = COLUMNS.map(() => []);
  for (const o of batch) {
    [o.orderId, o.userId, o.giftId, o.activityId, o.status, o.attempts, o.version, o.createdAt, o.updatedAt, o.error ?? null, o.failure ?? null, o.providerRef ?? null,
      o.resolvedBy ?? null, JSON.stringify(o.history)].forEach((value, i) => columns[i].push(value));
  }
  const table = db.table('orders');
  return db.execute(
    `INSERT INTO ${table} (${COLUMNS.join(', ')})
     SELECT * FROM unnest(${COLUMNS.map((_, i) => `$${i + 1}::${TYPES_BEFORE[i]}[]`).join(', ')})
     ON CONFLICT (order_id) DO UPDATE SET ${COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}, archived_at = now(), archive_count = ${table}.archive_count + 1
     WHERE ${table}.version < excluded.version`,
    columns,
  );
}

runBench('archive-upsert', { deadlineS: 600 }, async (ctx) => {
  const url = testDatabaseUrl();
  const sides = [
    { name: 'before (jsonb[] sent, 3 secondary indexes)', migrations: MIGRATIONS.filter((m) => m.id < '003'), write: upsertBefore },
    { name: 'now (json[] sent, 2 secondary indexes)', migrations: MIGRATIONS, write: (db: Database, batch: AdminOrderView[]) => new OrderArchive(db).upsert(batch) },
  ].map((side) => ({ ...side, schema: testSchema(), backendUs: [] as number[], clientUs: [] as number[] }));
  const dbs = sides.map((side) => new Database({ url, schema: side.schema, poolMax: 1, statementTimeoutMs: 60_000 }));
  ctx.defer(async () => {
    await Promise.all(dbs.map((db) => db.close()));
    for (const side of sides) await dropSchema(side.schema, url);
  });
  for (const [i, side] of sides.entries()) await dbs[i].migrate(side.migrations);
  let next = 0;
  for (const i of [0, 1, 1, 0, 0, 1, 1, 0]) {
    const side = sides[i];
    ctx.step(`${side.name}: ${ROWS} orders in batches of ${BATCH}`);
    const [{ pid }] = await dbs[i].query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backendBefore = cpuMs(pid);
    const clientBefore = process.cpuUsage();
    for (let done = 0; done < ROWS; done += BATCH) {
      await side.write(dbs[i], orders(next, BATCH));
      next += BATCH;
    }
    const client = process.cpuUsage(clientBefore);
    side.backendUs.push(((cpuMs(pid) - backendBefore) * 1000) / ROWS);
    side.clientUs.push((client.user + client.system) / ROWS);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`\nCPU per archived order (µs), ${ROWS} orders a round in batches of ${BATCH}, 4 rounds a side (before/now/now/before x2)`);
  for (const side of sides) {
    console.log(`${side.name.padEnd(50)} PostgreSQL backend ${mean(side.backendUs).toFixed(1)} (rounds ${side.backendUs.map((v) => v.toFixed(1)).join(', ')}), this process ${mean(side.clientUs).toFixed(1)}`);
  }
  console.log(`now / before, PostgreSQL backend: ${((100 * mean(sides[1].backendUs)) / mean(sides[0].backendUs)).toFixed(0)}%`);
  console.log('this process includes building the orders; the backend is what the archive costs PostgreSQL per order.');
});
