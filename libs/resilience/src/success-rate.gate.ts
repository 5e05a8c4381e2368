/** Options of {@link SuccessRateGate}. */
export interface SuccessRateGateOptions {
  /**
   * Recent success rate (0–1) of the target service, e.g. from the router's window; `undefined`
   * when there is too little data to judge. Called once per retry decision, so keep it O(1).
   */
  successRate: () => number | undefined;
  /** Below this rate (0–1), retries are refused. Default 0.8. */
  minSuccessRate?: number;
}

/**
 * Retry gate: a retry is allowed only while the target service looks mostly healthy. When most
 * calls fail, retrying multiplies the load on a service that is already down (Envoy's retry
 * budget is not conditioned on this; gRPC's retryThrottling is, implicitly), so we refuse.
 * With no data (`undefined`) the gate is open.
 */
export class SuccessRateGate {
  private readonly successRate: () => number | undefined;
  readonly minSuccessRate: number;

  constructor(options: SuccessRateGateOptions) {
    const min = options.minSuccessRate ?? 0.8;
    if (!(min >= 0 && min <= 1)) throw new RangeError(`minSuccessRate must be within 0–1 (got ${min})`);
    this.successRate = options.successRate;
    this.minSuccessRate = min;
  }

  /** Whether a retry may be sent now. */
  allows(): boolean {
    const rate = this.successRate();
    return rate === undefined || !(rate < this.minSuccessRate);
  }
}
