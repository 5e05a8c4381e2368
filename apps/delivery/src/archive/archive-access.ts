import { AuditArchive, ActivityVersions, Database, OrderArchive } from '@app/platform';
import type { DeliveryConfig } from '../config/delivery.config.js';

/**
 * The system of record as the delivery app sees it: absent when `DATABASE_URL` is not set (then no
 * archiver runs and retention never deletes anything, since nothing can be checked as archived).
 * `ready` turns true once the migrations ran (in the background at start-up, retried while
 * PostgreSQL is unreachable: a delivery instance serves claims without it).
 */
export class ArchiveAccess {
  readonly db?: Database;
  readonly orders?: OrderArchive;
  readonly audit?: AuditArchive;
  readonly activities?: ActivityVersions;
  ready = false;

  constructor(config: DeliveryConfig['database']) {
    if (!config.url) return;
    this.db = new Database(config);
    this.orders = new OrderArchive(this.db);
    this.audit = new AuditArchive(this.db);
    this.activities = new ActivityVersions(this.db);
  }

  get enabled(): boolean {
    return !!this.db;
  }
}
