import type { EndpointState } from './router.js';
import { SuccessRateWindow, type SuccessRateWindowOptions } from './success-rate.window.js';

/** Mutable routing record of one instance, owned by {@link SuccessRateRouter}. */
export class EndpointStats<E> {
  state: EndpointState = 'healthy';
  readonly window: SuccessRateWindow;
  /** Calls picked and not yet reported. */
  inflight = 0;
  /** Exponentially weighted latency, in ms (0 until the first call). */
  latencyEwmaMs = 0;
  consecutiveFailures = 0;
  /** Consecutive ejections, forgiven one per base ejection time spent healthy. */
  ejectionsInRow = 0;
  /** Every ejection since the instance became known. */
  totalEjections = 0;
  /** Clock time at which an ejection ends. */
  ejectedUntil = 0;
  /** Clock time of the last readmission (for forgiving ejections). */
  healthySince = 0;
  /** Consecutive good probes while probing. */
  probeSuccesses = 0;
  /** A trickle request or active probe is out (one at a time). */
  isProbeOut = false;

  constructor(
    readonly endpoint: E,
    window: SuccessRateWindowOptions,
  ) {
    this.window = new SuccessRateWindow(window);
  }
}
