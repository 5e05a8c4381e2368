import { systemClock, type Clock } from './clock.js';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed as a fraction (0–1) of the requests in the window. Default 0.1. */
  ratio?: number;
  /** Retries always allowed on top, per second of window (the floor for quiet traffic). Default 3. */
  minRetriesPerSecond?: number;
  /** Sliding window the counts cover, in ms. Default 10000. */
  windowMs?: number;
  /** Buckets the window is split into; it slides one bucket at a time. Default 10. */
  buckets?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/**
 * Retry budget, Finagle style (rate based, not Envoy's concurrency based): over a sliding window,
 * `retries ≤ ratio × requests + minRetriesPerSecond × windowS`. With a target failing 100%, load
 * is at most `(1 + ratio)` times the request rate plus the floor, whatever `maxAttempts` says.
 * Every operation is O(1): two counters per bucket, advanced lazily from the clock.
 */
export class RetryBudget {
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  private readonly bucketMs: number;
  private readonly floor: number;
  private readonly clock: Clock;
  private head = 0;
  private headStart: number;
  private requestSum = 0;
  private retrySum = 0;
  readonly ratio: number;

  constructor(options: RetryBudgetOptions = {}) {
    const { ratio = 0.1, minRetriesPerSecond = 3, windowMs = 10_000, buckets = 10, clock = systemClock } = options;
    if (!(ratio >= 0)) throw new RangeError(`ratio must be ≥ 0 (got ${ratio})`);
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1) throw new RangeError('windowMs must be > 0 and buckets an integer ≥ 1');
    this.ratio = ratio;
    this.floor = minRetriesPerSecond * (windowMs / 1000);
    this.bucketMs = windowMs / buckets;
    this.requests = new Float64Array(buckets);
    this.retries = new Float64Array(buckets);
    this.clock = clock;
    this.headStart = clock.now();
  }

  /** Records one request (call once per logical call, not per attempt). */
  recordRequest(): void {
    this.advance();
    this.requests[this.head]++;
    this.requestSum++;
  }

  /** Takes one retry from the budget if there is one; returns whether the retry may be sent. */
  tryWithdraw(): boolean {
    this.advance();
    if (this.retrySum + 1 > this.ratio * this.requestSum + this.floor) return false;
    this.retries[this.head]++;
    this.retrySum++;
    return true;
  }

  /** Retries still available in the window now (rounded down). */
  get available(): number {
    this.advance();
    return Math.max(0, Math.floor(this.ratio * this.requestSum + this.floor - this.retrySum));
  }

  /** Moves the head to the bucket of `now`, emptying the buckets it passes (at most all of them). */
  private advance(): void {
    const now = this.clock.now();
    let steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    this.headStart += steps * this.bucketMs;
    const n = this.requests.length;
    if (steps > n) steps = n;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % n;
      this.requestSum -= this.requests[this.head];
      this.retrySum -= this.retries[this.head];
      this.requests[this.head] = 0;
      this.retries[this.head] = 0;
    }
  }
}
