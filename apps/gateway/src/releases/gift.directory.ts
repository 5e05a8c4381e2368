import { Logger } from '@nestjs/common';
import { Patterns, type AdminActivityView, type AdminGetActivityRequest, type GetGiftRequest, type GiftView } from '@app/contracts';
import type { Upstream } from '../upstream/upstream.client.js';

/** Where a gift belongs: what the judge groups a gift's calls by. */
export interface GiftPlace {
  activityId: string;
  /** The provider's origin (`http://host:port`), or `unknown` if its URL could not be read. */
  provider: string;
}

/** Options of {@link GiftDirectory}. */
export interface GiftDirectoryOptions {
  /** How long a gift's place is kept, in ms. Default 300 000 (publishing may move a gift's provider). */
  ttlMs?: number;
  /** Budget of each lookup call, in ms. Default 1000. */
  timeoutMs?: number;
}

/**
 * giftId -> activity and provider, read through the query service and cached. Lookups happen off
 * the hot path: `place()` answers from the cache or says "not yet" and loads in the background
 * (one gift read for the activity id, one activity read for every gift's provider of it).
 */
export class GiftDirectory {
  private readonly logger = new Logger(GiftDirectory.name);
  private readonly places = new Map<string, { place: GiftPlace; until: number }>();
  private readonly loading = new Set<string>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly query: Upstream,
    options: GiftDirectoryOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.timeoutMs = options.timeoutMs ?? 1_000;
  }

  /** The gift's place if known (and fresh); otherwise undefined, and a load starts. */
  place(giftId: string): GiftPlace | undefined {
    const known = this.places.get(giftId);
    if (!known || known.until < this.now()) void this.load(giftId);
    return known?.place;
  }

  /** Loads one gift's activity and every provider of that activity (at most one load per gift at a time). */
  async load(giftId: string): Promise<void> {
    if (this.loading.has(giftId)) return;
    this.loading.add(giftId);
    try {
      const meta = { requestId: `release-judge-${giftId}` };
      const gift = await this.query.call<GiftView>(Patterns.GetGift, { meta, giftId } satisfies GetGiftRequest, { timeoutMs: this.timeoutMs, retryOnOtherInstance: true });
      const activity = await this.query.call<AdminActivityView>(Patterns.AdminGetActivity, { meta, activityId: gift.activityId } satisfies AdminGetActivityRequest, { timeoutMs: this.timeoutMs, retryOnOtherInstance: true });
      const until = this.now() + this.ttlMs;
      for (const g of activity.gifts) this.places.set(g.giftId, { place: { activityId: activity.activityId, provider: originOf(g.provider.url) }, until });
      if (!this.places.has(giftId)) this.places.set(giftId, { place: { activityId: gift.activityId, provider: 'unknown' }, until });
    } catch (err) {
      this.logger.warn({ event: 'release.gift-lookup-failed', giftId, error: String(err) });
    } finally {
      this.loading.delete(giftId);
    }
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'unknown';
  }
}
