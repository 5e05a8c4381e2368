import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import type { ActivityVersions, AuditArchive } from '@app/platform';
import { ARCHIVER_GROUP, type GroupStreamReader, type RoundPlan } from './group-stream.reader.js';

/**
 * Write-behind of the operator records: the audit stream (kept in Redis for `GET /admin/audit`, so
 * entries are only acknowledged) and the published activity configurations (deleted once copied).
 * Same consumer group and the same guarantees as the order archiver: own pending entries first,
 * then a dead consumer's idle ones, then new ones; inserts keyed so a re-applied batch is a no-op.
 */
export class RecordsArchiver {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly audit: AuditArchive,
    private readonly versions: ActivityVersions,
    private readonly opts: { batchSize: number },
  ) {}

  /**
   * One round over both streams, read through the order archiver's reader under its round's plan
   * (whether own pending entries are re-read and idle ones taken over); returns how many entries were
   * archived, and whether neither stream filled a batch.
   */
  async round(reader: GroupStreamReader, plan: RoundPlan): Promise<{ archived: number; complete: boolean }> {
    const audit = await reader.read(this.keys.audit(), this.opts.batchSize, plan);
    if (audit.length > 0) {
      await this.audit.insert(audit.map(({ id, fields: f }) => ({ id, time: f.time ?? new Date(Number(id.split('-')[0])).toISOString(), actor: f.actor ?? '', action: f.action ?? '', target: f.target ?? '', reason: f.reason ?? '' })));
      await this.redis.xack(this.keys.audit(), ARCHIVER_GROUP, ...audit.map((e) => e.id));
    }
    const versions = await reader.read(this.keys.activityVersions(), this.opts.batchSize, plan);
    for (const { fields: f } of versions) {
      if (!f.activityId) continue;
      await this.versions.insert({ activityId: f.activityId, publishedAt: f.publishedAt, actor: f.actor ?? '', reason: f.reason ?? '', config: JSON.parse(f.config ?? 'null') });
    }
    if (versions.length > 0) {
      const ids = versions.map((e) => e.id);
      await this.redis.multi().xack(this.keys.activityVersions(), ARCHIVER_GROUP, ...ids).xdel(this.keys.activityVersions(), ...ids).exec();
    }
    return { archived: audit.length + versions.length, complete: audit.length < this.opts.batchSize && versions.length < this.opts.batchSize };
  }
}
