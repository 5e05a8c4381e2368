import { BulkheadPolicy, type BulkheadSnapshot } from './bulkhead.policy.js';
import { TimeoutPolicy } from './timeout.policy.js';

/** The timeout classes every route and provider call declares. */
export type TimeoutClassName = 'fast' | 'slow';
export const TIMEOUT_CLASS_NAMES: readonly TimeoutClassName[] = ['fast', 'slow'];

/** Limits of one timeout class. */
export interface TimeoutClassOptions {
  /** Time one attempt of a call of this class may take, in ms. Default fast 300, slow 3000. */
  timeoutMs: number;
  /** Calls of this class running at once, across every route of the class. Default fast 256, slow 64. */
  maxConcurrent: number;
  /** Calls of this class waiting for a slot; beyond it, 503 at once. Default fast 0, slow 16. */
  maxQueued: number;
  /** `Retry-After` when the class's bulkhead is full, in seconds. Default 1. */
  retryAfterS: number;
}

/** Defaults of each class. A fast call never queues: if its class is saturated it is shed at once. */
export const DEFAULT_TIMEOUT_CLASSES: Readonly<Record<TimeoutClassName, Readonly<TimeoutClassOptions>>> = Object.freeze({
  fast: Object.freeze({ timeoutMs: 300, maxConcurrent: 256, maxQueued: 0, retryAfterS: 1 }),
  slow: Object.freeze({ timeoutMs: 3000, maxConcurrent: 64, maxQueued: 16, retryAfterS: 1 }),
});

/** One class's shared pieces: wire them as `compose(retry?, cls.bulkhead, breaker, cls.timeout)`. */
export interface TimeoutClass {
  name: TimeoutClassName;
  /** The class's one bulkhead, shared by every call of the class. */
  bulkhead: BulkheadPolicy;
  /** The class's default per-attempt timeout. */
  timeout: TimeoutPolicy;
}

/**
 * Registry of timeout classes: one bulkhead per class, shared by every call of that class, so a
 * slow class saturated by a hung dependency rejects its own excess and never takes a fast slot.
 * Build once per process (e.g. from config) and hand the classes to each client.
 */
export class TimeoutClasses {
  private readonly classes = new Map<TimeoutClassName, TimeoutClass>();
  private readonly timeouts = new Map<string, TimeoutPolicy>();
  readonly options: Readonly<Record<TimeoutClassName, Readonly<TimeoutClassOptions>>>;

  constructor(overrides: Partial<Record<TimeoutClassName, Partial<TimeoutClassOptions>>> = {}) {
    const options = {} as Record<TimeoutClassName, Readonly<TimeoutClassOptions>>;
    for (const name of TIMEOUT_CLASS_NAMES) {
      const o = Object.freeze({ ...DEFAULT_TIMEOUT_CLASSES[name], ...stripUndefined(overrides[name]) });
      options[name] = o;
      const bulkhead = new BulkheadPolicy({ name, maxConcurrent: o.maxConcurrent, maxQueued: o.maxQueued, retryAfterS: o.retryAfterS });
      this.classes.set(name, { name, bulkhead, timeout: this.timeout(name, o.timeoutMs) });
    }
    this.options = Object.freeze(options);
  }

  /** The shared pieces of class `name`. */
  get(name: TimeoutClassName): TimeoutClass {
    const cls = this.classes.get(name);
    if (!cls) throw new RangeError(`unknown timeout class "${name}"`);
    return cls;
  }

  /**
   * A timeout for class `name`, with a per-route override of its `timeoutMs`. Policies are cached
   * per (class, ms), so calling this at wiring time or per call allocates nothing new.
   */
  timeout(name: TimeoutClassName, timeoutMs?: number): TimeoutPolicy {
    const ms = timeoutMs ?? this.get(name).timeout.ms;
    const key = `${name}:${ms}`;
    let policy = this.timeouts.get(key);
    if (!policy) this.timeouts.set(key, (policy = new TimeoutPolicy(ms, name)));
    return policy;
  }

  /** Bulkhead counters of every class. */
  snapshot(): BulkheadSnapshot[] {
    return TIMEOUT_CLASS_NAMES.map((name) => this.get(name).bulkhead.snapshot());
  }
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return o ? (Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>) : {};
}
