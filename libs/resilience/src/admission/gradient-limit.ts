/** Options of {@link GradientLimit}. */
export interface GradientLimitOptions {
  /** Limit before any sample. Default 20. */
  initialLimit?: number;
  /** Lowest limit: the limit never goes below it, whatever the latency does. Default 4. */
  minLimit?: number;
  /** Highest limit. Default 1000. */
  maxLimit?: number;
  /** How much the recent latency may exceed the baseline before the limit shrinks (1.5 = 50% more). Default 1.5. */
  tolerance?: number;
  /** Weight of each new estimate in the limit (0-1]. Default 0.2. */
  smoothing?: number;
  /** Length of one sample window in ms: the recent latency is the mean of a window's samples. Default 100. */
  windowMs?: number;
  /** Samples a window needs before it moves the limit (fewer: merged into the next window). Default 10. */
  minWindowSamples?: number;
  /** Factor the limit is multiplied by after a window with a dropped call (timeout, overload). Default 0.9. */
  backoff?: number;
  /** Mean latency (ms) above which a window counts as dropped, whatever the baseline. Default none. */
  maxLatencyMs?: number;
  /** Time between baseline probes, in ms. Default 5000. */
  probeIntervalMs?: number;
  /** Share of the limit admitted while a probe measures the baseline. Default 0.5. */
  probeShare?: number;
}

/**
 * A window whose peak in-flight stayed below this share of the limit is app-limited: it does not move
 * the limit (Netflix uses 1/2; 3/4 keeps an unused limit from growing to twice what is used).
 */
const APP_LIMITED_BELOW = 0.75;

/** One window's samples, aggregated. */
interface Window {
  startMs: number;
  count: number;
  sumMs: number;
  maxInflight: number;
  dropped: boolean;
}

/**
 * An adaptive concurrency limit moved by measured latency, Gradient2/Vegas style: per window,
 * `gradient = clamp(0.5, 1, tolerance × baseline / recent)` and
 * `limit ← (1 − s)·limit + s·(limit·gradient + √limit)`, where `recent` is the window's mean latency
 * and `baseline` the latency of the service without a queue.
 *
 * The baseline is what Envoy's adaptive-concurrency filter calls minRTT, and how it is measured is
 * where the known failure modes live:
 * - **No collapse while re-measuring** (Envoy issues 8337, 18152: concurrency pinned to a floor of a
 *   few calls for the whole measurement, a burst of 503s every interval): every `probeIntervalMs` the
 *   limit drops to `probeShare` (half) of itself for one window, only long enough for calls started
 *   inside it to finish, and their mean latency becomes the baseline. Half the limit still serves, and
 *   it is enough to drain a queue the limit let build.
 * - **No unbounded growth under mild overload**: a baseline that simply followed recent latency (a
 *   long average, Gradient2's) drifts up with the queue it admits, and the limit with it. Here the
 *   baseline only comes from probes (and from any lower window mean between them), the limit only
 *   grows when it is used (a window whose peak in-flight stayed under 3/4 of the limit is
 *   app-limited), it is capped by `maxLimit`, and a window with a dropped call (a timeout, a
 *   downstream overload refusal) or a mean above `maxLatencyMs` multiplies it by `backoff`.
 * - **No collapse on a slower service**: a service that really got slower is slower in the next probe
 *   too, and the baseline follows it there.
 *
 * Pure: time comes in with each sample (`nowMs`), so tests drive it with a fake clock.
 */
export class GradientLimit {
  readonly minLimit: number;
  readonly maxLimit: number;
  private readonly tolerance: number;
  private readonly smoothing: number;
  private readonly windowMs: number;
  private readonly minWindowSamples: number;
  private readonly backoff: number;
  private readonly maxLatencyMs: number;
  private readonly probeIntervalMs: number;
  private readonly probeShare: number;
  private estimate: number;
  private baseline = 0;
  private lastRecentMs = 0;
  private window: Window | undefined;
  /** When the next probe starts (ms); set by the first sample. */
  private nextProbeMs = NaN;
  /** The running probe: when it started, and its samples (calls started inside it only). */
  private probe: { startMs: number; count: number; sumMs: number } | undefined;

  constructor(options: GradientLimitOptions = {}) {
    const {
      initialLimit = 20,
      minLimit = 4,
      maxLimit = 1000,
      tolerance = 1.5,
      smoothing = 0.2,
      windowMs = 100,
      minWindowSamples = 10,
      backoff = 0.9,
      maxLatencyMs = Infinity,
      probeIntervalMs = 5000,
      probeShare = 0.5,
    } = options;
    if (!(minLimit >= 1 && maxLimit >= minLimit)) throw new RangeError(`need 1 ≤ minLimit ≤ maxLimit (got ${minLimit}, ${maxLimit})`);
    if (!(tolerance >= 1)) throw new RangeError(`tolerance must be ≥ 1 (got ${tolerance})`);
    if (!(smoothing > 0 && smoothing <= 1)) throw new RangeError(`smoothing must be in (0, 1] (got ${smoothing})`);
    if (!(backoff > 0 && backoff < 1)) throw new RangeError(`backoff must be in (0, 1) (got ${backoff})`);
    if (!(probeShare > 0 && probeShare < 1)) throw new RangeError(`probeShare must be in (0, 1) (got ${probeShare})`);
    this.minLimit = minLimit;
    this.maxLimit = maxLimit;
    this.tolerance = tolerance;
    this.smoothing = smoothing;
    this.windowMs = windowMs;
    this.minWindowSamples = minWindowSamples;
    this.backoff = backoff;
    this.maxLatencyMs = maxLatencyMs;
    this.probeIntervalMs = probeIntervalMs;
    this.probeShare = probeShare;
    this.estimate = Math.min(maxLimit, Math.max(minLimit, initialLimit));
  }

  /** Calls that may be in flight now (lower while a probe runs). */
  get limit(): number {
    const limit = Math.max(this.minLimit, Math.floor(this.estimate));
    return this.probe ? Math.max(this.minLimit, Math.floor(limit * this.probeShare)) : limit;
  }

  /** Whether a baseline probe is running. */
  get isProbing(): boolean {
    return this.probe !== undefined;
  }

  /** Latency of the service without a queue (ms), 0 before the first window. */
  get baselineMs(): number {
    return this.baseline;
  }

  /** Mean latency of the last complete window (ms). */
  get recentMs(): number {
    return this.lastRecentMs;
  }

  /**
   * Records one finished call: its latency, the calls in flight when it started (itself included),
   * whether it was dropped (timed out, or refused by an overloaded downstream), and whether its latency
   * counts (`timed` false: the caller's own queue made it, so it moves neither the limit nor the
   * baseline; the call still counts as traffic, and a probe still ends on time).
   */
  sample(nowMs: number, rttMs: number, inflight: number, dropped = false, timed = true): void {
    if (Number.isNaN(this.nextProbeMs)) this.nextProbeMs = nowMs + Math.min(1000, this.probeIntervalMs);
    if (this.probe) {
      this.sampleProbe(nowMs, rttMs, dropped, timed);
      return;
    }
    let w = this.window;
    if (!w) w = this.window = { startMs: nowMs, count: 0, sumMs: 0, maxInflight: 0, dropped: false };
    if (dropped) {
      w.dropped = true;
    } else if (timed) {
      w.count++;
      w.sumMs += rttMs;
    }
    if (inflight > w.maxInflight) w.maxInflight = inflight;
    if (nowMs - w.startMs < this.windowMs) return;
    if (!w.dropped && w.count < this.minWindowSamples) return;
    this.window = undefined;
    this.update(w);
    if (nowMs >= this.nextProbeMs) this.probe = { startMs: nowMs, count: 0, sumMs: 0 };
  }

  /** A probe counts only calls started after it began (they saw the lowered limit). */
  private sampleProbe(nowMs: number, rttMs: number, dropped: boolean, timed: boolean): void {
    const probe = this.probe!;
    if (dropped) {
      // The service is shedding: no baseline from this probe; back off and measure later.
      this.estimate = Math.max(this.minLimit, this.estimate * this.backoff);
      this.endProbe(nowMs);
      return;
    }
    if (timed && nowMs - rttMs >= probe.startMs) {
      probe.count++;
      probe.sumMs += rttMs;
    }
    if (nowMs - probe.startMs < this.windowMs || probe.count < this.minWindowSamples) {
      // A probe that gathers too few samples in ten windows (little traffic) ends without a result.
      if (nowMs - probe.startMs > 10 * this.windowMs) this.endProbe(nowMs);
      return;
    }
    const measured = probe.sumMs / probe.count;
    // A probe well under the old baseline found a queue the limit had let build: look again soon.
    const again = measured < this.baseline * 0.8 ? Math.min(1000, this.probeIntervalMs) : this.probeIntervalMs;
    this.baseline = measured;
    this.endProbe(nowMs, again);
  }

  private endProbe(nowMs: number, nextInMs = this.probeIntervalMs): void {
    this.probe = undefined;
    this.nextProbeMs = nowMs + nextInMs;
  }

  private update(w: Window): void {
    if (w.dropped || w.sumMs / w.count > this.maxLatencyMs) {
      this.estimate = Math.max(this.minLimit, this.estimate * this.backoff);
      return;
    }
    const recent = w.sumMs / w.count;
    this.lastRecentMs = recent;
    if (this.baseline === 0 || recent < this.baseline) this.baseline = recent;
    // App-limited: the limit was not the constraint in this window; it says nothing about the limit.
    if (w.maxInflight < this.estimate * APP_LIMITED_BELOW) return;
    const gradient = Math.max(0.5, Math.min(1, (this.tolerance * this.baseline) / recent));
    const target = this.estimate * gradient + Math.sqrt(this.estimate);
    const next = this.estimate * (1 - this.smoothing) + target * this.smoothing;
    this.estimate = Math.min(this.maxLimit, Math.max(this.minLimit, next));
  }
}
