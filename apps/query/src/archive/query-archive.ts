import { Logger } from '@nestjs/common';
import type { AdminOrderView, OrderView } from '@app/contracts';
import { AnalyticsStore, Database, OrderArchive, redactDatabaseUrl, type DatabaseConfig } from '@app/platform';

/**
 * The archive as query reads it: settled orders retention removed from Redis are answered from
 * PostgreSQL with the same body. Absent without DATABASE_URL (then such an order is not found).
 * The migrations run at start-up in the background like on delivery (idempotent, advisory lock).
 */
export class QueryArchive {
  private readonly logger = new Logger(QueryArchive.name);
  private readonly db?: Database;
  private readonly orders?: OrderArchive;
  /** The analyzers' aggregates (`GET /admin/analytics/...`); absent without DATABASE_URL. */
  readonly analytics?: AnalyticsStore;
  private stopped = false;
  private starting?: Promise<void>;

  constructor(config: DatabaseConfig) {
    if (!config.url) return;
    this.db = new Database(config);
    this.orders = new OrderArchive(this.db);
    this.analytics = new AnalyticsStore(this.db);
  }

  start(): void {
    const db = this.db;
    if (!db) return;
    this.starting = (async () => {
      const applied = await db.migrateUntilDone({
        stopped: () => this.stopped,
        onFailure: (attempt, error) => {
          if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ event: 'archive.migrate.failed', attempt, error: error.message });
        },
      });
      if (applied) this.logger.log({ event: 'archive.ready', database: redactDatabaseUrl(db.config.url), schema: db.schema });
    })();
  }

  /** The archived order with its history; throws when PostgreSQL cannot answer (a 503, not a 404). */
  async order(orderId: string): Promise<AdminOrderView | undefined> {
    return this.orders?.find(orderId);
  }

  /** The user's view of an archived order (the fields `GET /api/orders/{id}` answers with). */
  async userOrder(orderId: string): Promise<OrderView | undefined> {
    const order = await this.order(orderId);
    if (!order) return undefined;
    const { failure: _failure, providerRef: _providerRef, resolvedBy: _resolvedBy, history: _history, ...view } = order;
    return view;
  }

  get enabled(): boolean {
    return !!this.orders;
  }

  /** A page of the operators' listing from the archive (see OrderArchive.list). */
  async list(filter: Parameters<OrderArchive['list']>[0]): Promise<Array<OrderView & { createdAtMs: number }>> {
    return this.orders ? this.orders.list(filter) : [];
  }

  /** The user's archived orders, newest first (none without an archive). */
  async userOrders(userId: string, limit: number): Promise<OrderView[]> {
    return this.orders ? this.orders.ofUser(userId, limit) : [];
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.starting;
    await this.db?.close();
  }
}
