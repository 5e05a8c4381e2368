import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode, giftBuckets, giftPausedFlag, type RedisKeys } from '@app/contracts';
import { decodeSoldOutLatch, latchRefuses, type SoldOutLatchRecord } from '@app/platform';

/** What the latch reads the gift's pause flag from (the gateway's FlagCache). */
export interface PauseFlags {
  isEnabled(name: string): boolean;
}

/** Options of {@link SoldOutLatch}. */
export interface SoldOutLatchOptions {
  /** Whether the latch answers at all (`SOLD_OUT_LATCH`). Off: never refuses, never subscribes. Default on. */
  isEnabled: boolean;
  /** Every latch is re-read from Redis this often, in ms, besides the announcements. Default 5000. */
  resyncMs: number;
  /** Wall clock in ms (the gift's window is checked against it). Default `Date.now`. */
  now?: () => number;
}

/**
 * Sold-out gifts as this gateway knows them, so a storm of claims for a gift that has sold out is
 * answered 409 SOLD_OUT here, without a Redis round trip or an upstream call.
 *
 * The delivery service stores a gift's latch in Redis when it sells out (`{g:<giftId>}:sold-out`,
 * with a Bloom filter of the gift's order keys and users, final at that moment) and announces
 * `armed|<giftId>` or `cleared|<giftId>` on the sold-out channel. This class loads a latch once per
 * announcement (a `cleared` one is dropped at once), and re-reads every published gift's latch on
 * (re)subscribe and every `resyncMs`, so a gateway that starts, or reconnects, after a sell-out
 * latches too, and a missed announcement is repaired. Per gift, only the newest read applies.
 *
 * The check is synchronous and costs a Map lookup plus, for a latched gift, two filter probes.
 * Precedence (contract): outside the gift's window or while it is paused NOT_ACTIVE comes first, and
 * a user who holds orders of the gift may be owed USER_LIMIT_REACHED or TOO_MANY_UNCERTAIN, and a
 * repeat gets its order: all of those take the normal path (see `latchRefuses`).
 */
export class SoldOutLatch {
  private readonly logger = new Logger(SoldOutLatch.name);
  private readonly latches = new Map<string, SoldOutLatchRecord>();
  /** Per gift, the number of the newest read started: an older read's answer is dropped. */
  private readonly reads = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  /** Claims answered 409 SOLD_OUT by the latch since start (`rampart_sold_out_latch_hits_total`). */
  hits = 0;

  /**
   * @param redis commands connection.
   * @param subscriber the gateway's subscriber connection (shared: messages of other channels are ignored).
   */
  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly flags: PauseFlags,
    private readonly options: SoldOutLatchOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (!this.options.isEnabled) return;
    const channel = this.keys.soldOutChannel();
    this.subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.onAnnouncement(message);
    });
    // After a reconnect ioredis re-subscribes; re-read in case an announcement was missed meanwhile.
    this.subscriber.on('ready', () => void this.resync());
    await this.subscriber.subscribe(channel);
    await this.resync();
    this.timer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Throws 409 SOLD_OUT when the latch answers this claim by itself; returns otherwise (normal path). */
  check(giftId: string, userId: string, orderId: string): void {
    const latch = this.latches.get(giftId);
    if (!latch) return;
    if (!latchRefuses(latch, { orderId, userId, nowMs: this.now(), isPaused: this.flags.isEnabled(giftPausedFlag(giftId)) })) return;
    this.hits++;
    throw new AppError(ErrorCode.SoldOut, `gift ${giftId} has no inventory left`);
  }

  /** Gifts latched on this gateway now. */
  latchedGifts(): string[] {
    return [...this.latches.keys()];
  }

  /** Applies an announcement: `armed|<giftId>` (load it) or `cleared|<giftId>` (drop it now). */
  private onAnnouncement(message: string): void {
    const bar = message.indexOf('|');
    const kind = message.slice(0, bar);
    const giftId = message.slice(bar + 1);
    if (bar < 0 || !giftId) return;
    if (kind === 'cleared') this.drop(giftId);
    void this.load(giftId);
  }

  /** Re-reads the latch of every published gift (and drops latches of gifts no longer listed). */
  async resync(): Promise<void> {
    try {
      // A split gift's buckets are listed too; only the gift itself has a latch.
      const giftIds = (await this.redis.smembers(this.keys.gifts())).filter((id) => !giftBuckets.isBucket(id));
      const listed = new Set(giftIds);
      for (const giftId of this.latches.keys()) if (!listed.has(giftId)) this.drop(giftId);
      await Promise.all(giftIds.map((giftId) => this.load(giftId)));
    } catch (err) {
      this.logger.warn({ event: 'sold-out.resync-failed', error: (err as Error).message });
    }
  }

  private async load(giftId: string): Promise<void> {
    const read = (this.reads.get(giftId) ?? 0) + 1;
    this.reads.set(giftId, read);
    let raw: string | null;
    try {
      raw = await this.redis.get(this.keys.giftSoldOutLatch(giftId));
    } catch (err) {
      this.logger.warn({ event: 'sold-out.load-failed', giftId, error: (err as Error).message });
      return;
    }
    if (this.reads.get(giftId) !== read) return; // a newer read (after a newer announcement) decides
    if (raw === null) return this.drop(giftId);
    let latch: SoldOutLatchRecord;
    try {
      latch = decodeSoldOutLatch(raw);
    } catch (err) {
      this.logger.warn({ event: 'sold-out.latch-malformed', giftId, error: (err as Error).message });
      return this.drop(giftId);
    }
    const current = this.latches.get(giftId);
    if (current?.seq === latch.seq) return;
    this.latches.set(giftId, latch);
    this.logger.log({ event: 'sold-out.latch-applied', giftId, seq: latch.seq });
  }

  private drop(giftId: string): void {
    if (this.latches.delete(giftId)) this.logger.log({ event: 'sold-out.latch-cleared', giftId });
  }
}
