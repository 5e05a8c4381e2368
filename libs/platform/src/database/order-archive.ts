import type { AdminOrderView, OrderHistoryEntry, OrderStatus, OrderView } from '@app/contracts';
import type { Database } from './database.js';

interface OrderRow {
  order_id: string;
  user_id: string;
  gift_id: string;
  activity_id: string;
  status: string;
  attempts: number;
  version: number;
  created_at: Date;
  updated_at: Date;
  error: string | null;
  failure: string | null;
  provider_ref: string | null;
  resolved_by: string | null;
  history: OrderHistoryEntry[];
  archive_count: number;
  [key: string]: unknown;
}

const COLUMNS = ['order_id', 'user_id', 'gift_id', 'activity_id', 'status', 'attempts', 'version', 'created_at', 'updated_at', 'error', 'failure', 'provider_ref', 'resolved_by', 'history'] as const;
const COLUMN_TYPES: Record<(typeof COLUMNS)[number], string> = {
  order_id: 'text', user_id: 'text', gift_id: 'text', activity_id: 'text', status: 'text', attempts: 'int', version: 'int',
  created_at: 'timestamptz', updated_at: 'timestamptz', error: 'text', failure: 'text', provider_ref: 'text', resolved_by: 'text',
  // Sent as json[] and converted to the jsonb column row by row: parsing a jsonb[] array literal cost
  // PostgreSQL ~25% more per order (bench/archive-upsert).
  history: 'json',
};

/**
 * Settled orders in the system of record. Written only by the archiver: an upsert keyed by order id
 * where the higher `version` wins, so a batch applied twice (an archiver killed before its XACK, a
 * claimed pending entry) changes nothing, and an older snapshot never overwrites a newer one.
 * Read back as the same views Redis answers with.
 */
export class OrderArchive {
  constructor(private readonly db: Database) {}

  /**
   * Upserts the orders (one statement, its text the same for any number of orders: one array per
   * column, unnested); returns how many rows were inserted or changed.
   */
  async upsert(orders: readonly AdminOrderView[]): Promise<number> {
    if (orders.length === 0) return 0;
    const columns: unknown[][] = COLUMNS.map(() => []);
    for (const o of orders) {
      const row = [o.orderId, o.userId, o.giftId, o.activityId, o.status, o.attempts, o.version, o.createdAt, o.updatedAt,
        o.error ?? null, o.failure ?? null, o.providerRef ?? null, o.resolvedBy ?? null, JSON.stringify(o.history)];
      row.forEach((value, i) => columns[i].push(value));
    }
    const table = this.db.table('orders');
    const updates = COLUMNS.filter((c) => c !== 'order_id').map((c) => `${c} = excluded.${c}`).join(', ');
    // Counted rows: inserted ones, and updated ones whose version was older (the WHERE skips the rest).
    return this.db.execute(
      `INSERT INTO ${table} (${COLUMNS.join(', ')})
       SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c]}[]`).join(', ')})
       ON CONFLICT (order_id) DO UPDATE SET ${updates}, archived_at = now(), archive_count = ${table}.archive_count + 1
       WHERE ${table}.version < excluded.version`,
      columns,
    );
  }

  /** The archived version of each order id that is archived (absent ids are not). */
  async versions(orderIds: readonly string[]): Promise<Map<string, number>> {
    if (orderIds.length === 0) return new Map();
    const rows = await this.db.query<{ order_id: string; version: number }>(`SELECT order_id, version FROM ${this.db.table('orders')} WHERE order_id = ANY($1::text[])`, [orderIds]);
    return new Map(rows.map((r) => [r.order_id, r.version]));
  }

  /** Archived order numbers in order, after `after` (keyset paging over the primary key). */
  async orderIdsAfter(after: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ order_id: string }>(`SELECT order_id FROM ${this.db.table('orders')} WHERE order_id > $1 ORDER BY order_id LIMIT $2`, [after, limit]);
    return rows.map((r) => r.order_id);
  }

  async find(orderId: string): Promise<AdminOrderView | undefined> {
    const [row] = await this.db.query<OrderRow>(`SELECT * FROM ${this.db.table('orders')} WHERE order_id = $1`, [orderId]);
    return row && toAdminView(row);
  }

  /** Several archived orders by number in one query (the claim path's batched lookups); absent numbers are left out. */
  async findMany(orderIds: readonly string[]): Promise<Map<string, AdminOrderView>> {
    const rows = await this.db.query<OrderRow>(`SELECT * FROM ${this.db.table('orders')} WHERE order_id = ANY($1::text[])`, [orderIds]);
    return new Map(rows.map((row) => [row.order_id, toAdminView(row)]));
  }

  /** A user's archived orders, newest first. */
  async ofUser(userId: string, limit: number): Promise<OrderView[]> {
    const rows = await this.db.query<OrderRow>(`SELECT * FROM ${this.db.table('orders')} WHERE user_id = $1 ORDER BY created_at DESC, order_id LIMIT $2`, [userId, limit]);
    return rows.map((r) => toOrderView(r));
  }

  /**
   * Archived orders matching the filters, newest first (ties by order id, descending), strictly
   * after `after` (creation time in ms, order id) when given: the operators' listing's archive part.
   */
  async list(filter: { status?: string; giftId?: string; userId?: string; after?: { s: number; o: string }; limit: number }): Promise<Array<OrderView & { createdAtMs: number }>> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (filter.status) add('status = ?', filter.status);
    if (filter.giftId) add('gift_id = ?', filter.giftId);
    if (filter.userId) add('user_id = ?', filter.userId);
    if (filter.after) {
      values.push(new Date(filter.after.s).toISOString(), filter.after.o);
      where.push(`(created_at < $${values.length - 1} OR (created_at = $${values.length - 1} AND order_id < $${values.length}))`);
    }
    values.push(filter.limit);
    const rows = await this.db.query<OrderRow>(
      `SELECT * FROM ${this.db.table('orders')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, order_id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map((r) => ({ ...toOrderView(r), createdAtMs: r.created_at.getTime() }));
  }

  /** How many times the archiver wrote each order (1 = exactly once): for tests and audits. */
  async archiveCounts(orderIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ order_id: string; archive_count: number }>(`SELECT order_id, archive_count FROM ${this.db.table('orders')} WHERE order_id = ANY($1::text[])`, [orderIds]);
    return new Map(rows.map((r) => [r.order_id, r.archive_count]));
  }
}

function toOrderView(row: OrderRow): OrderView {
  return {
    orderId: row.order_id,
    giftId: row.gift_id,
    activityId: row.activity_id,
    userId: row.user_id,
    status: row.status as OrderStatus,
    attempts: row.attempts,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(row.error ? { error: row.error } : {}),
  };
}

function toAdminView(row: OrderRow): AdminOrderView {
  return {
    ...toOrderView(row),
    ...(row.failure === 'refused' || row.failure === 'exhausted' ? { failure: row.failure } : {}),
    ...(row.provider_ref ? { providerRef: row.provider_ref } : {}),
    ...(row.resolved_by ? { resolvedBy: row.resolved_by } : {}),
    history: row.history,
  };
}
