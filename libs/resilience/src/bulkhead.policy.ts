import { BulkheadPolicy as CockatielBulkhead, bulkhead as cockatielBulkhead, isBulkheadRejectedError } from 'cockatiel';
import { BulkheadFullError } from './errors/bulkhead-full.error.js';
import type { Policy, PolicyContext } from './policy.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Name in errors and snapshots (e.g. the timeout class). Default `'bulkhead'`. */
  name?: string;
  /** Executions allowed at the same time. Required, ≥ 1. */
  maxConcurrent: number;
  /** Executions that may wait for a slot; beyond that, calls are rejected at once. Default 0. */
  maxQueued?: number;
  /** `Retry-After` carried by {@link BulkheadFullError}, in seconds. Default 1. */
  retryAfterS?: number;
}

/** Counters of one bulkhead, for admin views and tests. */
export interface BulkheadSnapshot {
  name: string;
  maxConcurrent: number;
  maxQueued: number;
  /** Executions running now. */
  active: number;
  /** Executions waiting for a slot now. */
  queued: number;
  /** Calls rejected since start. */
  rejected: number;
}

/**
 * Concurrency limit (cockatiel `bulkhead(limit, queue)`): at most `maxConcurrent` executions run,
 * at most `maxQueued` wait; any more reject at once with a {@link BulkheadFullError} (503 with
 * Retry-After at the edge), so a hung dependency costs bounded memory and no queueing delay.
 * A queued call whose signal aborted is dropped when its turn comes.
 */
export class BulkheadPolicy implements Policy {
  private readonly inner: CockatielBulkhead;
  private rejected = 0;
  readonly name: string;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly retryAfterS: number;

  constructor(options: BulkheadOptions) {
    const { name = 'bulkhead', maxConcurrent, maxQueued = 0, retryAfterS = 1 } = options;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`maxConcurrent must be an integer ≥ 1 (got ${maxConcurrent})`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`maxQueued must be an integer ≥ 0 (got ${maxQueued})`);
    this.name = name;
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
    this.retryAfterS = retryAfterS;
    this.inner = cockatielBulkhead(maxConcurrent, maxQueued);
  }

  execute<T>(fn: (ctx: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    // `.then(_, map)` rather than async/await: one promise hop less on the hot path.
    return this.inner.execute(({ signal: inner }) => fn({ signal: inner, attempt: 1 }), signal).then(undefined, this.mapRejection);
  }

  /** Whether a call made now starts at once (a slot is free): it neither waits in the queue nor is refused. */
  get hasFreeSlot(): boolean {
    return this.inner.executionSlots > 0;
  }

  private readonly mapRejection = (err: unknown): never => {
    if (!isBulkheadRejectedError(err)) throw err;
    this.rejected++;
    throw new BulkheadFullError(this.name, { retryAfterS: this.retryAfterS, cause: err });
  };

  snapshot(): BulkheadSnapshot {
    const active = this.maxConcurrent - this.inner.executionSlots;
    const queued = this.maxQueued - this.inner.queueSlots;
    return { name: this.name, maxConcurrent: this.maxConcurrent, maxQueued: this.maxQueued, active, queued, rejected: this.rejected };
  }
}

/** A concurrency limit with a bounded queue. See {@link BulkheadPolicy}. */
export const bulkhead = (options: BulkheadOptions): BulkheadPolicy => new BulkheadPolicy(options);
