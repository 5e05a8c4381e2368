import type { FlagCache, Metrics } from '@app/platform';
import type { ClaimReporter } from './claims/claim.reporter.js';
import type { GuardedProvider } from './provider/guarded-provider.js';
import type { DeliveryQueue } from './queue/delivery.queue.js';

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * Gauges of the delivery service read at scrape time: queue counts, provider breakers, report
 * events lost, flag values. (Deliveries by outcome are counted where they happen.)
 */
export function registerDeliveryMetrics(
  metrics: Metrics,
  sources: { queue: DeliveryQueue; reporter: ClaimReporter; provider: GuardedProvider; flags: FlagCache },
): void {
  metrics.gauge('rampart_queue_jobs', 'Delivery queue jobs by state', ['state'], async () => {
    const counts = await sources.queue.counts();
    return Object.entries(counts).map(([state, n]) => [{ state }, n]);
  });
  metrics.gauge('rampart_queue_oldest_waiting_seconds', 'Age of the oldest delivery job waiting to run (0 when none waits)', [], async () => [
    [{}, await sources.queue.oldestWaitingAgeS()],
  ]);
  metrics.gauge('rampart_breaker_state', 'Circuit state (0 closed, 1 half-open, 2 open)', ['breaker'], () =>
    sources.provider.snapshot().map((b) => [{ breaker: b.name }, BREAKER_STATE[b.state]]),
  );
  metrics.gauge('rampart_breaker_rejects', 'Calls failed fast by an open circuit, in its window', ['breaker'], () =>
    sources.provider.snapshot().map((b) => [{ breaker: b.name }, b.rejects]),
  );
  metrics.gauge('rampart_report_events_lost', 'Claim reports dropped (buffer full) or lost (sink failed or slow)', ['reason'], () => {
    const { dropped, lost } = sources.reporter.stats();
    return [[{ reason: 'dropped' }, dropped], [{ reason: 'lost' }, lost]];
  });
  metrics.gauge('rampart_flag_enabled', 'Degradation flags as this instance sees them (1 enabled)', ['flag'], () =>
    Object.entries(sources.flags.all()).map(([flag, on]) => [{ flag }, on ? 1 : 0]),
  );
}
