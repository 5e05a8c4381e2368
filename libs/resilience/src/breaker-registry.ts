import { EventEmitter } from 'node:events';
import { OpossumBreaker } from './adapters/opossum.breaker.js';
import type { BreakerOptions, BreakerSnapshot, BreakerStateChange, CircuitBreakerPolicy } from './circuit-breaker.policy.js';

/**
 * One circuit breaker per protected name (route or provider), created on first use and reused by
 * every call after it: `breakers.for('query.getGift')` at wiring time or per call costs a map
 * lookup. State changes of every breaker reach `onStateChange` listeners (for logs).
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();
  private readonly forward = (change: BreakerStateChange): void => {
    for (const listener of this.listeners) listener(change);
  };
  /** Rotates the window buckets of every breaker of this registry with one timer per window size. */
  private readonly rotations = new Map<number, { emitter: EventEmitter; timer: NodeJS.Timeout }>();

  /** @param defaults options of every breaker, unless `for()` overrides them. */
  constructor(private readonly defaults: BreakerOptions = {}) {}

  /** The breaker of `name`; `options` apply only when it is first created. */
  for(name: string, options: BreakerOptions = {}): CircuitBreakerPolicy {
    let breaker = this.breakers.get(name);
    if (!breaker) {
      const merged = { ...this.defaults, ...options };
      breaker = new OpossumBreaker(name, { ...merged, rotateBucketController: this.rotation(merged) });
      breaker.onStateChange(this.forward);
      this.breakers.set(name, breaker);
    }
    return breaker;
  }

  /** Snapshot of every breaker, sorted by name (for `GET /admin/breakers`). */
  snapshot(): BreakerSnapshot[] {
    return [...this.breakers.values()].map((b) => b.snapshot()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Subscribes to state changes of every breaker; returns the unsubscribe function. */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Disposes every breaker and timer. Safe to call twice. */
  dispose(): void {
    for (const breaker of this.breakers.values()) breaker.dispose();
    this.breakers.clear();
    for (const { timer } of this.rotations.values()) clearInterval(timer);
    this.rotations.clear();
    this.listeners.clear();
  }

  /** One shared bucket-rotation emitter per bucket interval (opossum's `rotateBucketController`). */
  private rotation(options: BreakerOptions): EventEmitter {
    const intervalMs = Math.floor((options.rollingWindowMs ?? 10_000) / (options.rollingBuckets ?? 10));
    let rotation = this.rotations.get(intervalMs);
    if (!rotation) {
      const emitter = new EventEmitter();
      emitter.setMaxListeners(0);
      const timer = setInterval(() => emitter.emit('rotate'), intervalMs);
      timer.unref();
      this.rotations.set(intervalMs, (rotation = { emitter, timer }));
    }
    return rotation.emitter;
  }
}
