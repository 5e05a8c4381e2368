import type { Database } from './database.js';

/** An audit entry as archived (the Redis stream's entry id is its key, so a re-applied batch is a no-op). */
export interface ArchivedAuditEntry {
  id: string;
  time: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
}

/** The audit log in the system of record: every entry, no cap. */
export class AuditArchive {
  constructor(private readonly db: Database) {}

  async insert(entries: readonly ArchivedAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const values: unknown[] = [];
    const tuples = entries.map((e) => {
      const base = values.length;
      values.push(e.id, e.time, e.actor, e.action, e.target, e.reason);
      return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6})`;
    });
    await this.db.query(`INSERT INTO ${this.db.table('audit_log')} (id, at, actor, action, target, reason) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`, values);
  }

  /** Newest first. */
  async list(limit: number): Promise<ArchivedAuditEntry[]> {
    const rows = await this.db.query<{ id: string; at: Date; actor: string; action: string; target: string; reason: string }>(
      `SELECT id, at, actor, action, target, reason FROM ${this.db.table('audit_log')} ORDER BY at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({ id: r.id, time: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, reason: r.reason }));
  }
}

/** Activity configurations as published, one row per publish. */
export class ActivityVersions {
  constructor(private readonly db: Database) {}

  async insert(version: { activityId: string; publishedAt: string; actor: string; reason: string; config: unknown }): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.db.table('activity_versions')} (activity_id, published_at, actor, reason, config) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [version.activityId, version.publishedAt, version.actor, version.reason, JSON.stringify(version.config)],
    );
  }

  async list(activityId: string): Promise<Array<{ publishedAt: string; actor: string; reason: string; config: unknown }>> {
    const rows = await this.db.query<{ published_at: Date; actor: string; reason: string; config: unknown }>(
      `SELECT published_at, actor, reason, config FROM ${this.db.table('activity_versions')} WHERE activity_id = $1 ORDER BY published_at`, [activityId]);
    return rows.map((r) => ({ publishedAt: r.published_at.toISOString(), actor: r.actor, reason: r.reason, config: r.config }));
  }
}
