import type { FlagCache, Metrics } from '@app/platform';
import type { Upstream } from '../upstream/upstream.client.js';

const STATE = { healthy: 0, probing: 1, ejected: 2 } as const;

/**
 * Gauges of the gateway read at scrape time from the routers' windows and the flag cache: no cost
 * on the request path. Labels are service and instance address (bounded by the deployment).
 */
export function registerGatewayMetrics(metrics: Metrics, sources: { upstreams: Record<string, Upstream>; flags: FlagCache }): void {
  const rows = () =>
    Object.entries(sources.upstreams).flatMap(([service, upstream]) => (upstream.snapshot?.() ?? []).map((s) => ({ service, ...s })));
  metrics.gauge('rampart_upstream_state', 'Instance state (0 healthy, 1 probing, 2 ejected)', ['service', 'instance'], () =>
    rows().map((r) => [{ service: r.service, instance: r.endpoint }, STATE[r.state]]),
  );
  metrics.gauge('rampart_upstream_success_rate', 'Share of successful calls to the instance in the routing window', ['service', 'instance'], () =>
    rows().map((r) => [{ service: r.service, instance: r.endpoint }, r.successRate]),
  );
  metrics.gauge('rampart_upstream_window_requests', 'Calls to the instance in the routing window', ['service', 'instance'], () =>
    rows().map((r) => [{ service: r.service, instance: r.endpoint }, r.requests]),
  );
  metrics.gauge('rampart_upstream_p99_seconds', '99th percentile latency of the instance in the routing window', ['service', 'instance'], () =>
    rows().map((r) => [{ service: r.service, instance: r.endpoint }, r.p99Ms / 1000]),
  );
  metrics.gauge('rampart_upstream_ejections', 'Ejections of the instance since it became known', ['service', 'instance'], () =>
    rows().map((r) => [{ service: r.service, instance: r.endpoint }, r.ejections]),
  );
  metrics.gauge('rampart_flag_enabled', 'Degradation flags as this instance sees them (1 enabled)', ['flag'], () =>
    Object.entries(sources.flags.all()).map(([flag, on]) => [{ flag }, on ? 1 : 0]),
  );
}
