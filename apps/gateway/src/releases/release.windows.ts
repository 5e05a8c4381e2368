import { SuccessRateWindow, type WindowTally } from '@app/routing';
import type { ReleaseService } from './rollout.js';

/** Options of {@link ReleaseWindows}. */
export interface ReleaseWindowsOptions {
  /** Length of each window, in ms. Default 60 000 (6 judge ticks of 10 s). */
  windowMs?: number;
  /** Buckets per window. Default 12 (5 s each). */
  buckets?: number;
}

/**
 * This gateway's outcomes per service, per release and per gift, over a sliding window: what the
 * judge compares. Recording is two Map lookups and an O(1) window update (no allocation once a
 * gift has been seen), so it runs on every claim whether a rollout is active or not.
 */
export class ReleaseWindows {
  private readonly windows = new Map<ReleaseService, Map<string, Map<string, SuccessRateWindow>>>();
  private readonly windowMs: number;
  private readonly buckets: number;

  constructor(options: ReleaseWindowsOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.buckets = options.buckets ?? 12;
  }

  /** Records one call of `giftId` served by `release`, ended at `nowMs`. */
  record(service: ReleaseService, release: string, giftId: string, isSuccess: boolean, latencyMs: number, nowMs: number): void {
    let byRelease = this.windows.get(service);
    if (!byRelease) this.windows.set(service, (byRelease = new Map()));
    let byGift = byRelease.get(release);
    if (!byGift) byRelease.set(release, (byGift = new Map()));
    let window = byGift.get(giftId);
    if (!window) byGift.set(giftId, (window = new SuccessRateWindow({ windowMs: this.windowMs, buckets: this.buckets })));
    window.record(nowMs, isSuccess, latencyMs);
  }

  /** Per gift, what `release` of `service` counted in the window ending at `nowMs` (gifts without calls left out). */
  tallies(service: ReleaseService, release: string, nowMs: number): Map<string, WindowTally> {
    const out = new Map<string, WindowTally>();
    for (const [giftId, window] of this.windows.get(service)?.get(release) ?? []) {
      const tally = window.tally(nowMs);
      if (tally.ok + tally.failed > 0) out.set(giftId, tally);
    }
    return out;
  }

  /** Drops the windows of gifts without calls in the window ending at `nowMs` (memory stays proportional to the gifts in use). */
  prune(nowMs: number): void {
    for (const byRelease of this.windows.values()) {
      for (const [release, byGift] of byRelease) {
        for (const [giftId, window] of byGift) if (window.requests(nowMs) === 0) byGift.delete(giftId);
        if (!byGift.size) byRelease.delete(release);
      }
    }
  }

  /** Releases of `service` this gateway has counted calls of. */
  releases(service: ReleaseService): string[] {
    return [...(this.windows.get(service)?.keys() ?? [])];
  }

  /**
   * Forgets every release of `service`: called when its rollout changes (new canary, new weight).
   * Why both sides: a window mixing two weights compares a canary whose calls all come from after the
   * change with a stable release whose calls span the whole window, so a failure burst just after the
   * change looks like the canary's (Simpson's paradox; the fake-clock simulation found it). Within one
   * weight the canary's share is the same at every moment, and a burst hits both sides alike.
   */
  restart(service: ReleaseService): void {
    this.windows.delete(service);
  }
}
