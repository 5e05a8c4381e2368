import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Options of {@link ReportBuffer}. */
export interface ReportBufferOptions<E> {
  /**
   * Writes one batch (e.g. XADDs to a Redis stream). Should honour `signal`, which aborts when the
   * flush times out. A rejection loses the batch (reports are non-essential); it is never retried.
   */
  sink: (batch: E[], signal: AbortSignal) => Promise<void>;
  /** Events held at most; a push beyond it drops the oldest and counts it. Default 10000. */
  maxEntries?: number;
  /** Events per sink call. Default 500. */
  batchSize?: number;
  /** Delay between a first unflushed push and its flush, in ms. Default 100. */
  flushEveryMs?: number;
  /** Time one sink call may take before its batch is given up, in ms. Default 20. */
  flushTimeoutMs?: number;
  /** Sink calls that may be unsettled at once (timed-out ones included); more wait for the next tick. Default 2. */
  maxPendingFlushes?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/** Counters of a {@link ReportBuffer}. */
export interface ReportBufferStats {
  /** Events waiting now. */
  size: number;
  /** Events dropped because the buffer was full (oldest first). */
  dropped: number;
  /** Events the sink accepted. */
  flushed: number;
  /** Events lost in sink calls that failed or timed out. */
  lost: number;
  /** Sink calls that failed or timed out. */
  failedFlushes: number;
}

/**
 * Write-behind buffer for a non-essential branch (the claim's report): `push()` is synchronous
 * and O(1) (a ring buffer), never waits and never throws; a timer flushes batches to the sink.
 * Memory is bounded (drop-oldest with a counter), a slow or failing sink costs callers nothing, and
 * every timer is unref'ed. `dispose()` flushes what is left once and stops the timer.
 */
export class ReportBuffer<E> {
  private readonly ring: (E | undefined)[];
  private head = 0; // oldest
  private count = 0;
  private timer: TimerHandle | undefined;
  private pending = 0;
  private disposed = false;
  private readonly counters = { dropped: 0, flushed: 0, lost: 0, failedFlushes: 0 };
  private readonly sink: ReportBufferOptions<E>['sink'];
  private readonly batchSize: number;
  private readonly flushEveryMs: number;
  private readonly flushTimeoutMs: number;
  private readonly maxPendingFlushes: number;
  private readonly clock: Clock;
  private readonly tick = (): void => {
    this.timer = undefined;
    this.flushSome();
  };

  constructor(options: ReportBufferOptions<E>) {
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be an integer ≥ 1 (got ${maxEntries})`);
    this.ring = new Array<E | undefined>(maxEntries);
    this.sink = options.sink;
    this.batchSize = options.batchSize ?? 500;
    this.flushEveryMs = options.flushEveryMs ?? 100;
    this.flushTimeoutMs = options.flushTimeoutMs ?? 20;
    this.maxPendingFlushes = options.maxPendingFlushes ?? 2;
    this.clock = options.clock ?? systemClock;
  }

  /** Queues one event; drops the oldest if full. O(1); arms the flush timer if idle. */
  push(event: E): void {
    if (this.disposed) {
      this.counters.dropped++;
      return;
    }
    const capacity = this.ring.length;
    if (this.count === capacity) {
      this.ring[this.head] = event; // overwrite the oldest: the new tail
      this.head = (this.head + 1) % capacity;
      this.counters.dropped++;
    } else {
      this.ring[(this.head + this.count) % capacity] = event;
      this.count++;
    }
    this.timer ??= this.clock.setTimeout(this.tick, this.flushEveryMs);
  }

  stats(): ReportBufferStats {
    return { size: this.count, ...this.counters };
  }

  /** Stops the timer and hands what is left to the sink once (each batch still bounded by its timeout). Safe twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.timer?.clear();
    this.timer = undefined;
    while (this.count > 0) await this.flushBatch(this.take());
  }

  /** One timer tick: starts as many batches as pending capacity allows; re-arms if events remain. */
  private flushSome(): void {
    while (this.count > 0 && this.pending < this.maxPendingFlushes) void this.flushBatch(this.take());
    if (this.count > 0 && !this.disposed) this.timer ??= this.clock.setTimeout(this.tick, this.flushEveryMs);
  }

  /** A sink call settled: if a backlog waits, flush it now rather than at the next tick. */
  private settled(): void {
    this.pending--;
    if (this.count === 0 || this.disposed) return;
    this.timer?.clear();
    this.timer = this.clock.setTimeout(this.tick, 0);
  }

  private take(): E[] {
    const n = Math.min(this.batchSize, this.count);
    const batch = new Array<E>(n);
    const capacity = this.ring.length;
    for (let i = 0; i < n; i++) {
      batch[i] = this.ring[this.head] as E;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % capacity;
    }
    this.count -= n;
    return batch;
  }

  /** Sends one batch, giving up after `flushTimeoutMs`; resolves either way, never rejects. */
  private flushBatch(batch: E[]): Promise<void> {
    this.pending++;
    const ctrl = new AbortController();
    let settled = false;
    return new Promise<void>((resolve) => {
      const finish = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        timer.clear();
        if (ok) this.counters.flushed += batch.length;
        else {
          this.counters.lost += batch.length;
          this.counters.failedFlushes++;
          ctrl.abort();
        }
        resolve();
      };
      const timer = this.clock.setTimeout(() => finish(false), this.flushTimeoutMs);
      let call: Promise<void>;
      try {
        call = this.sink(batch, ctrl.signal);
      } catch {
        call = Promise.reject(new Error('sink threw'));
      }
      // `pending` counts the sink call itself, so a hung sink holds its place until it settles.
      call.then(
        () => finish(true),
        () => finish(false),
      ).finally(() => this.settled());
    });
  }
}
