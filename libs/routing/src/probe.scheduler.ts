import { systemClock, type Clock } from './clock.js';
import type { Router } from './router.js';

/** Options of {@link ProbeScheduler}. */
export interface ProbeSchedulerOptions<E> {
  /** Router whose probing instances are pinged. Routers without `probeTargets` are never probed. */
  router: Router<E>;
  /** Health probe of one instance over the same transport as real calls; resolves true when it answered well. */
  probe: (endpoint: E) => Promise<boolean>;
  /** Time between sweeps, in ms. Default 500. */
  intervalMs?: number;
  /** Timers. Default the real clock (unref'ed). */
  clock?: Clock;
}

/**
 * Active health probing: every `intervalMs` it asks the router which instances are probing and
 * pings each (at most one probe per instance at a time), reporting the result with `reportProbe`.
 * A probe that throws counts as failed. `dispose()` stops it; safe to call twice.
 */
export class ProbeScheduler<E> {
  private handle: unknown;
  private readonly clock: Clock;

  constructor(private readonly options: ProbeSchedulerOptions<E>) {
    this.clock = options.clock ?? systemClock;
    if (options.router.probeTargets && options.router.reportProbe) {
      this.handle = this.clock.setInterval(() => this.sweep(), options.intervalMs ?? 500);
    }
  }

  /** One sweep: probe every due instance. Returns when every probe of this sweep has been reported. */
  async sweep(): Promise<void> {
    const { router, probe } = this.options;
    const due = router.probeTargets?.() ?? [];
    await Promise.all(
      due.map(async (endpoint) => {
        let isOk = false;
        try {
          isOk = await probe(endpoint);
        } catch {
          isOk = false;
        }
        if (this.handle !== undefined) router.reportProbe?.(endpoint, isOk);
      }),
    );
  }

  dispose(): void {
    if (this.handle === undefined) return;
    this.clock.clearInterval(this.handle);
    this.handle = undefined;
  }
}
