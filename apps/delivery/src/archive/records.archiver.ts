import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import type { ActivityVersions, AuditArchive } from '@app/platform';
import { ARCHIVER_GROUP } from './order.archiver.js';

type StreamEntry = { id: string; fields: Record<string, string> };

/**
 * Write-behind of the operator records: the audit stream (kept in Redis for `GET /admin/audit`, so
 * entries are only acknowledged) and the published activity configurations (deleted once copied).
 * Same consumer group and the same guarantees as the order archiver: own pending entries first,
 * then a dead consumer's idle ones, then new ones; inserts keyed so a re-applied batch is a no-op.
 */
export class RecordsArchiver {
  private readonly groups = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly audit: AuditArchive,
    private readonly versions: ActivityVersions,
    private readonly opts: { consumer: string; batchSize: number; claimIdleMs: number },
  ) {}

  /** One round over both streams; returns how many entries were archived. */
  async round(): Promise<number> {
    const audit = await this.read(this.keys.audit());
    if (audit.length > 0) {
      await this.audit.insert(audit.map(({ id, fields: f }) => ({ id, time: f.time ?? new Date(Number(id.split('-')[0])).toISOString(), actor: f.actor ?? '', action: f.action ?? '', target: f.target ?? '', reason: f.reason ?? '' })));
      await this.redis.xack(this.keys.audit(), ARCHIVER_GROUP, ...audit.map((e) => e.id));
    }
    const versions = await this.read(this.keys.activityVersions());
    for (const { fields: f } of versions) {
      if (!f.activityId) continue;
      await this.versions.insert({ activityId: f.activityId, publishedAt: f.publishedAt, actor: f.actor ?? '', reason: f.reason ?? '', config: JSON.parse(f.config ?? 'null') });
    }
    if (versions.length > 0) {
      const ids = versions.map((e) => e.id);
      await this.redis.multi().xack(this.keys.activityVersions(), ARCHIVER_GROUP, ...ids).xdel(this.keys.activityVersions(), ...ids).exec();
    }
    return audit.length + versions.length;
  }

  private async read(stream: string): Promise<StreamEntry[]> {
    if (!this.groups.has(stream)) {
      await this.redis.xgroup('CREATE', stream, ARCHIVER_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err;
      });
      this.groups.add(stream);
    }
    try {
      const own = await this.readGroup(stream, '0');
      if (own.length > 0) return own;
      const [, claimed] = (await this.redis.xautoclaim(stream, ARCHIVER_GROUP, this.opts.consumer, this.opts.claimIdleMs, '0-0', 'COUNT', this.opts.batchSize)) as [string, Array<[string, string[]] | null>];
      const taken = parse(claimed);
      return taken.length > 0 ? taken : await this.readGroup(stream, '>');
    } catch (err) {
      if (/NOGROUP/.test((err as Error).message)) this.groups.delete(stream);
      throw err;
    }
  }

  private async readGroup(stream: string, id: '0' | '>'): Promise<StreamEntry[]> {
    const reply = (await this.redis.xreadgroup('GROUP', ARCHIVER_GROUP, this.opts.consumer, 'COUNT', this.opts.batchSize, 'STREAMS', stream, id)) as Array<[string, Array<[string, string[]] | null>]> | null;
    return parse(reply?.[0]?.[1] ?? []);
  }
}

function parse(raw: Array<[string, string[]] | null>): StreamEntry[] {
  return raw.flatMap((entry) => {
    if (!entry) return [];
    const [id, list] = entry as [string, string[] | null];
    const fields: Record<string, string> = {};
    for (let i = 0; list && i < list.length; i += 2) fields[list[i]] = list[i + 1];
    return [{ id, fields }];
  });
}
