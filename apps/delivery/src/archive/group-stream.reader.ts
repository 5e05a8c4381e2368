import type { Redis } from 'ioredis';

/** The consumer group every archiver joins on the streams it archives. */
export const ARCHIVER_GROUP = 'archivers';

export type StreamEntry = { id: string; fields: Record<string, string> };

/**
 * How an archiver reads its streams through the consumer group `archivers`, in the order that loses
 * nothing: its own pending entries (read but not acknowledged when it last stopped or failed), then
 * entries another consumer left pending for `claimIdleMs` (it died mid-batch), then new ones.
 *
 * The first two are asked only when they can have something, so a busy archiver's round costs one
 * XREADGROUP per stream instead of three: its own pending entries at start-up and after a failed round
 * ({@link recover}), until a round read them all; others' idle ones at most every `takeoverEveryMs`.
 */
export class GroupStreamReader {
  private readonly groups = new Set<string>();
  private recovering = true;
  private lastTakeoverMs = 0;
  private readonly takeoverEveryMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly opts: { consumer: string; claimIdleMs: number },
  ) {
    this.takeoverEveryMs = Math.max(100, Math.min(5_000, opts.claimIdleMs / 2));
  }

  /** A round failed (entries read may be pending): the next rounds re-read this consumer's own first. */
  recover(): void {
    this.recovering = true;
  }

  /**
   * Starts a round: says whether it re-reads own pending entries and looks for idle ones to take over.
   * Pass the answer to {@link read} for every stream of the round, then {@link endRound}.
   */
  beginRound(): RoundPlan {
    const now = Date.now();
    const takeover = now - this.lastTakeoverMs >= this.takeoverEveryMs;
    if (takeover) this.lastTakeoverMs = now;
    return { own: this.recovering, takeover };
  }

  /** The round read every stream without reaching its batch limit and did not fail: nothing of ours is pending. */
  endRound(plan: RoundPlan, complete: boolean): void {
    if (plan.own && complete) this.recovering = false;
  }

  /** Up to `count` entries of `stream` (see the class comment for which). */
  async read(stream: string, count: number, plan: RoundPlan): Promise<StreamEntry[]> {
    await this.ensureGroup(stream);
    try {
      if (plan.own) {
        const own = await this.readGroup(stream, '0', count);
        if (own.length > 0) return own;
      }
      if (plan.takeover) {
        const [, claimed] = (await this.redis.xautoclaim(stream, ARCHIVER_GROUP, this.opts.consumer, this.opts.claimIdleMs, '0-0', 'COUNT', count)) as [string, RawEntry[]];
        const taken = parseEntries(claimed);
        if (taken.length > 0) return taken;
      }
      return await this.readGroup(stream, '>', count);
    } catch (err) {
      // The stream (and its group) went with a retired gift, or was never created: recreate next time.
      if (/NOGROUP/.test((err as Error).message)) {
        this.groups.delete(stream);
        return [];
      }
      throw err;
    }
  }

  /** Whether this reader has joined the group on `stream` (consumers are pruned only there). */
  joined(stream: string): boolean {
    return this.groups.has(stream);
  }

  private async readGroup(stream: string, id: '0' | '>', count: number): Promise<StreamEntry[]> {
    const reply = (await this.redis.xreadgroup('GROUP', ARCHIVER_GROUP, this.opts.consumer, 'COUNT', count, 'STREAMS', stream, id)) as Array<[string, RawEntry[]]> | null;
    return parseEntries(reply?.[0]?.[1] ?? []);
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.groups.has(stream)) return;
    try {
      await this.redis.xgroup('CREATE', stream, ARCHIVER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groups.add(stream);
  }
}

export interface RoundPlan {
  /** Re-read this consumer's own pending entries first. */
  own: boolean;
  /** Take over other consumers' entries idle `claimIdleMs`. */
  takeover: boolean;
}

type RawEntry = [string, string[] | null] | null;

function parseEntries(raw: RawEntry[]): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const entry of raw) {
    if (!entry) continue; // XAUTOCLAIM: an entry deleted meanwhile (it is no longer pending)
    const [id, list] = entry; // XREADGROUP 0: fields null when deleted meanwhile
    const fields: Record<string, string> = {};
    for (let i = 0; list && i < list.length; i += 2) fields[list[i]] = list[i + 1];
    out.push({ id, fields });
  }
  return out;
}
