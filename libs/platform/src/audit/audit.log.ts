import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';

/** One operator change (contract section 3: time, actor and reason of every change). */
export interface AuditEntry {
  id: string;
  time: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
}

/** Most entries kept (older ones are trimmed). */
export const AUDIT_MAX_ENTRIES = 10_000;

/** The audit log: a Redis stream shared by every instance, newest entries read first. */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async record(entry: Omit<AuditEntry, 'id' | 'time'>): Promise<void> {
    await this.redis.xadd(
      this.keys.audit(), 'MAXLEN', '~', AUDIT_MAX_ENTRIES, '*',
      'time', new Date().toISOString(), 'actor', entry.actor, 'action', entry.action, 'target', entry.target, 'reason', entry.reason,
    );
  }

  async list(limit: number): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(this.keys.audit(), '+', '-', 'COUNT', limit);
    return rows.map(([id, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) map[fields[i]] = fields[i + 1];
      return { id, time: map.time, actor: map.actor, action: map.action, target: map.target, reason: map.reason ?? '' };
    });
  }
}
