import type { Policy } from './policy.js';

/** State of a circuit: `closed` lets calls through, `open` fails them fast, `halfOpen` lets one trial through. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** What `GET /admin/breakers` shows for one breaker. Counts cover the rolling window. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Calls that counted as failures in the window. */
  failures: number;
  /** Calls that succeeded (or ended in a business error) in the window. */
  successes: number;
  /** Calls failed fast because the circuit was open, in the window. */
  rejects: number;
}

/** A state change, for logs (`breaker.open` ...) and tests. */
export interface BreakerStateChange {
  name: string;
  from: BreakerState;
  to: BreakerState;
}

/** Options of a circuit breaker. */
export interface BreakerOptions {
  /** Failure percentage (0–100) over the window above which the circuit opens. Default 50. */
  failureThresholdPercent?: number;
  /** Calls needed in the window before the percentage is considered. Default 10. */
  volumeThreshold?: number;
  /** Length of the rolling window, in ms. Default 10000. */
  rollingWindowMs?: number;
  /** Buckets the window is split into (it slides one bucket at a time). Default 10. */
  rollingBuckets?: number;
  /** Time an open circuit waits before letting one trial call through (half-open), in ms. Default 5000. */
  halfOpenAfterMs?: number;
  /** `Retry-After` carried by {@link CircuitOpenError}, in seconds. Default: `halfOpenAfterMs` rounded up. */
  retryAfterS?: number;
  /** Which errors count as failures; others count as successes. Default {@link countsAsFailure}. */
  countsAsFailure?: (err: unknown) => boolean;
}

/**
 * A circuit breaker as a {@link Policy}: open → rejects at once with {@link CircuitOpenError};
 * `halfOpenAfterMs` later one trial goes through; its success closes the circuit, its failure
 * re-opens it. The engine (opossum today) is an adapter; callers see only this interface.
 */
export interface CircuitBreakerPolicy extends Policy {
  readonly name: string;
  readonly state: BreakerState;
  snapshot(): BreakerSnapshot;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void;
  /** Stops timers and listeners; later calls reject. Safe to call twice. */
  dispose(): void;
}
