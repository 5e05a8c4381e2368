/** Upper bounds (ms) of the latency histogram bins; the last bin is open-ended. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, Infinity,
]);
const BINS = LATENCY_BOUNDS_MS.length;

/** Options of {@link SuccessRateWindow}. */
export interface SuccessRateWindowOptions {
  /** Length of the window, in ms. Default 10 000. */
  windowMs?: number;
  /** Number of buckets the window is cut into (its time resolution). Default 10. */
  buckets?: number;
}

/**
 * Outcomes and latencies of one instance over a sliding time window cut into buckets (10 s in
 * 1 s buckets by default). Recording is O(1) and allocation-free: counters live in typed arrays,
 * and running totals are kept, so reading the success rate does not sum the buckets. A bucket is
 * cleared (and subtracted from the totals) when the window slides past it.
 *
 * Time comes from the caller (`nowMs`), so tests drive it with plain numbers.
 */
export class SuccessRateWindow {
  readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly count: number;
  private readonly ok: Uint32Array;
  private readonly failed: Uint32Array;
  private readonly hist: Uint32Array;
  private readonly totalHist: Uint32Array;
  private totalOk = 0;
  private totalFailed = 0;
  /** Absolute index (nowMs / bucketMs) of the newest bucket. */
  private head = -1;

  constructor(options: SuccessRateWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 10_000;
    this.count = options.buckets ?? 10;
    if (!(this.count >= 1) || !(this.windowMs >= this.count)) throw new RangeError('window needs at least 1 bucket of at least 1 ms');
    this.bucketMs = this.windowMs / this.count;
    this.ok = new Uint32Array(this.count);
    this.failed = new Uint32Array(this.count);
    this.hist = new Uint32Array(this.count * BINS);
    this.totalHist = new Uint32Array(BINS);
  }

  /** Records one call that ended at `nowMs`. */
  record(nowMs: number, isSuccess: boolean, latencyMs: number): void {
    const slot = this.advance(nowMs);
    if (isSuccess) {
      this.ok[slot]++;
      this.totalOk++;
    } else {
      this.failed[slot]++;
      this.totalFailed++;
    }
    const bin = binOf(latencyMs);
    this.hist[slot * BINS + bin]++;
    this.totalHist[bin]++;
  }

  /** Calls recorded within the window ending at `nowMs`. */
  requests(nowMs: number): number {
    this.advance(nowMs);
    return this.totalOk + this.totalFailed;
  }

  /** Share of successes (0–1) within the window; 1 when it is empty (no evidence against). */
  successRate(nowMs: number): number {
    const total = this.requests(nowMs);
    return total === 0 ? 1 : this.totalOk / total;
  }

  /** 99th percentile latency within the window, as the upper bound of its histogram bin (ms); 0 when empty. */
  p99Ms(nowMs: number): number {
    const total = this.requests(nowMs);
    if (total === 0) return 0;
    const rank = Math.ceil(total * 0.99);
    let seen = 0;
    for (let bin = 0; bin < BINS; bin++) {
      seen += this.totalHist[bin];
      if (seen >= rank) return bin === BINS - 1 ? LATENCY_BOUNDS_MS[BINS - 2] : LATENCY_BOUNDS_MS[bin];
    }
    return LATENCY_BOUNDS_MS[BINS - 2];
  }

  /**
   * Counts within the window ending at `nowMs`, as copies: successes, failures and the latency
   * histogram (one count per {@link LATENCY_BOUNDS_MS} bin). Tallies of several windows add up.
   */
  tally(nowMs: number): WindowTally {
    this.advance(nowMs);
    return { ok: this.totalOk, failed: this.totalFailed, hist: Array.from(this.totalHist) };
  }

  /** Forgets everything (e.g. when an instance is readmitted with a clean slate). */
  reset(): void {
    this.ok.fill(0);
    this.failed.fill(0);
    this.hist.fill(0);
    this.totalHist.fill(0);
    this.totalOk = 0;
    this.totalFailed = 0;
  }

  /** Slides the window to `nowMs`, clearing buckets that fell out; returns the current slot. */
  private advance(nowMs: number): number {
    const index = Math.floor(nowMs / this.bucketMs);
    if (index > this.head) {
      // Clear at most `count` buckets however long the silence was: amortised O(1).
      const from = Math.max(this.head + 1, index - this.count + 1);
      for (let i = from; i <= index; i++) this.clear(i % this.count);
      this.head = index;
    }
    // A time slightly in the past (timers firing out of order) lands in the newest bucket.
    return this.head % this.count;
  }

  private clear(slot: number): void {
    this.totalOk -= this.ok[slot];
    this.totalFailed -= this.failed[slot];
    this.ok[slot] = 0;
    this.failed[slot] = 0;
    const base = slot * BINS;
    for (let bin = 0; bin < BINS; bin++) {
      const n = this.hist[base + bin];
      if (n) {
        this.totalHist[bin] -= n;
        this.hist[base + bin] = 0;
      }
    }
  }
}

/** What a window counted: successes, failures, and a latency histogram over {@link LATENCY_BOUNDS_MS}. */
export interface WindowTally {
  ok: number;
  failed: number;
  hist: number[];
}

/** 99th percentile of a histogram over {@link LATENCY_BOUNDS_MS}, as its bin's upper bound (ms); 0 when empty. */
export function p99OfHistogram(hist: readonly number[]): number {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return 0;
  const rank = Math.ceil(total * 0.99);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += hist[bin];
    if (seen >= rank) return bin === BINS - 1 ? LATENCY_BOUNDS_MS[BINS - 2] : LATENCY_BOUNDS_MS[bin];
  }
  return LATENCY_BOUNDS_MS[BINS - 2];
}

function binOf(latencyMs: number): number {
  let bin = 0;
  while (latencyMs > LATENCY_BOUNDS_MS[bin]) bin++;
  return bin;
}
