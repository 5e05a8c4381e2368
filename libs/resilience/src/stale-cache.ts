import { systemClock, type Clock } from './clock.js';
import { isUnavailable } from './errors/guards.js';

/** Options of {@link StaleCache}. */
export interface StaleCacheOptions {
  /** Entries kept; the least recently used is evicted beyond it. Default 1000. */
  maxEntries?: number;
  /** Oldest value still served, in ms. Default: no limit (any last good value beats a 503). */
  maxAgeMs?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
}

/** A value served by {@link StaleCache.readThrough}: fresh, or stale with its age. */
export type Served<V> = { value: V; stale: false } | { value: V; stale: true; ageMs: number };

/**
 * Bounded last-good-value cache for read fallbacks. A `Map` in recency order gives O(1) get, set
 * and eviction. Values are kept as given (store immutable ones).
 */
export class StaleCache<V> {
  private readonly entries = new Map<string, { value: V; storedAt: number }>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly clock: Clock;

  constructor(options: StaleCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`maxEntries must be an integer ≥ 1 (got ${this.maxEntries})`);
    this.maxAgeMs = options.maxAgeMs ?? Infinity;
    this.clock = options.clock ?? systemClock;
  }

  /** Entries held now (≤ maxEntries). */
  get size(): number {
    return this.entries.size;
  }

  /** Stores the latest good value of `key`. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.clock.now() });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The last good value of `key` and its age in ms, unless absent or older than `maxAgeMs`. */
  get(key: string): { value: V; ageMs: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const ageMs = this.clock.now() - entry.storedAt;
    if (ageMs > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { value: entry.value, ageMs };
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /**
   * Loads `key`, remembering a good value; when the load fails with an error `when` accepts
   * (default {@link isUnavailable}: circuit open, timeout, ...) and `allowStale` is true (the
   * `query.serveStale` flag or the route's setting), answers the last good value instead.
   * Business errors (NOT_FOUND ...) are never masked. Without a stored value, the error stands.
   */
  async readThrough(
    key: string,
    load: () => Promise<V>,
    options: { allowStale: boolean; when?: (err: unknown) => boolean },
  ): Promise<Served<V>> {
    try {
      const value = await load();
      this.set(key, value);
      return { value, stale: false };
    } catch (err) {
      if (!options.allowStale || !(options.when ?? isUnavailable)(err)) throw err;
      const last = this.get(key);
      if (!last) throw err;
      return { value: last.value, stale: true, ageMs: last.ageMs };
    }
  }
}
