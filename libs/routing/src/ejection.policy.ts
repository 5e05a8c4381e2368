/** Thresholds of {@link EjectionPolicy}; every field has the documented default. */
export interface EjectionOptions {
  /** Success rate (0–1) below which an instance with enough volume is ejected. Default 0.5. */
  ejectBelowRate: number;
  /** Calls the window must hold before its success rate is judged. Default 10. */
  minRequests: number;
  /** Consecutive failures that eject at once, whatever the volume. Default 5. */
  consecutiveFailures: number;
  /** Largest share (0–1) of a service's instances that may be out at once; at least one is always kept. Default 0.5. */
  maxEjectionShare: number;
  /** Ejection time of a first ejection, in ms; the n-th consecutive one lasts n times as long. Default 5 000. */
  baseEjectionMs: number;
  /** Cap on one ejection's time, in ms. Default 300 000. */
  maxEjectionMs: number;
  /** Consecutive successful probes that readmit a probing instance. Default 3. */
  readmitAfterSuccesses: number;
}

export const DEFAULT_EJECTION_OPTIONS: Readonly<EjectionOptions> = Object.freeze({
  ejectBelowRate: 0.5,
  minRequests: 10,
  consecutiveFailures: 5,
  maxEjectionShare: 0.5,
  baseEjectionMs: 5_000,
  maxEjectionMs: 300_000,
  readmitAfterSuccesses: 3,
});

/** What the policy knows about one healthy instance when a call to it has ended. */
export interface HealthEvidence {
  /** Calls in the window, and their success rate (0–1). */
  requests: number;
  successRate: number;
  consecutiveFailures: number;
  /** The last call was refused at connect: nothing listens there. */
  isConnectRefused: boolean;
}

/** Why an instance is (or would be) ejected, for logs; `undefined` when it is fine. */
export type EjectionReason = 'connect-refused' | 'consecutive-failures' | 'success-rate';

/**
 * The pure rules of outlier ejection (after Envoy's outlier detection and Polaris's breaker, with
 * Rampart's defaults): when a healthy instance must go, whether the service can spare it, how long
 * it stays out, and when a probing instance is back. No clock, no state: the router owns both.
 */
export class EjectionPolicy {
  readonly options: Readonly<EjectionOptions>;

  constructor(options: Partial<EjectionOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_EJECTION_OPTIONS, ...options });
  }

  /** Why this healthy instance should be ejected, or `undefined` to keep it. */
  reasonToEject(e: HealthEvidence): EjectionReason | undefined {
    if (e.isConnectRefused) return 'connect-refused';
    if (e.consecutiveFailures >= this.options.consecutiveFailures) return 'consecutive-failures';
    if (e.requests >= this.options.minRequests && e.successRate < this.options.ejectBelowRate) return 'success-rate';
    return undefined;
  }

  /** Whether one more instance may be taken out when `out` of `total` already are. */
  mayEject(out: number, total: number): boolean {
    return out + 1 <= this.maxOut(total);
  }

  /** Most instances that may be out at once: the share, rounded down, and never all of them. */
  maxOut(total: number): number {
    return Math.min(Math.floor(total * this.options.maxEjectionShare + 1e-9), total - 1);
  }

  /** Length of the `n`-th consecutive ejection (n ≥ 1), in ms: base × n, capped. */
  ejectionMs(n: number): number {
    return Math.min(this.options.baseEjectionMs * Math.max(1, n), Math.max(this.options.maxEjectionMs, this.options.baseEjectionMs));
  }

  /**
   * Consecutive ejections still counted after staying healthy for `healthyMs`: one is forgiven per
   * base ejection time, as Envoy lowers its multiplier on every healthy interval.
   */
  decayedEjections(n: number, healthyMs: number): number {
    return Math.max(0, n - Math.floor(healthyMs / this.options.baseEjectionMs));
  }

  /** Whether a probing instance with `successes` consecutive good probes is healthy again. */
  isReadmitted(successes: number): boolean {
    return successes >= this.options.readmitAfterSuccesses;
  }
}
