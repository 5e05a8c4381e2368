import { systemClock, type Clock } from '../clock.js';

/** Options of {@link ClientThrottle}. */
export interface ClientThrottleOptions {
  /** The SRE book's K: how many requests per accepted one a client keeps sending. Default 2. */
  k?: number;
  /** Window the counts cover, in ms. Default 10000. */
  windowMs?: number;
  /** Buckets the window slides by. Default 10. */
  buckets?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): over a sliding window the
 * client counts its requests and the ones the backend accepted, and refuses a new request locally
 * with probability `max(0, (requests − K·accepts) / (requests + 1))`. A backend that refuses most of
 * what it gets is sent little more than K times what it accepts, however many clients retry.
 * Requests refused locally count as requests too (that is what makes the formula converge). A sent
 * request is counted when its answer comes ({@link recordOutcome}), not when it leaves: counted at
 * send, a burst of calls still in flight would look refused and throttle a healthy backend.
 */
export class ClientThrottle {
  private readonly k: number;
  private readonly bucketMs: number;
  private readonly requests: Float64Array;
  private readonly accepts: Float64Array;
  private readonly clock: Clock;
  private readonly random: () => number;
  private head = 0;
  private headStart: number;
  private requestSum = 0;
  private acceptSum = 0;

  constructor(options: ClientThrottleOptions = {}) {
    const { k = 2, windowMs = 10_000, buckets = 10, clock = systemClock, random = Math.random } = options;
    if (!(k >= 1)) throw new RangeError(`k must be ≥ 1 (got ${k})`);
    this.k = k;
    this.bucketMs = windowMs / buckets;
    this.requests = new Float64Array(buckets);
    this.accepts = new Float64Array(buckets);
    this.clock = clock;
    this.random = random;
    this.headStart = clock.now();
  }

  /** The probability a new request is refused locally now. */
  rejectProbability(): number {
    this.advance();
    return Math.max(0, (this.requestSum - this.k * this.acceptSum) / (this.requestSum + 1));
  }

  /** Says whether to refuse a new request locally; a refused one is counted (as a request not accepted). */
  shouldThrottle(): boolean {
    const p = this.rejectProbability();
    if (!(p > 0 && this.random() < p)) return false;
    this.requests[this.head]! += 1;
    this.requestSum += 1;
    return true;
  }

  /** Counts a sent request once answered: accepted, or not (an overload refusal, a timeout). */
  recordOutcome(accepted: boolean): void {
    this.advance();
    this.requests[this.head]! += 1;
    this.requestSum += 1;
    if (!accepted) return;
    this.accepts[this.head]! += 1;
    this.acceptSum += 1;
  }

  private advance(): void {
    const now = this.clock.now();
    let steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    const n = this.requests.length;
    if (steps > n) steps = n;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % n;
      this.requestSum -= this.requests[this.head]!;
      this.acceptSum -= this.accepts[this.head]!;
      this.requests[this.head] = 0;
      this.accepts[this.head] = 0;
    }
    this.headStart = now - ((now - this.headStart) % this.bucketMs);
  }
}
