import type { Metrics } from '@app/platform';
import type { Upstream } from '../upstream/upstream.client.js';
import type { GrayRelease } from './gray-release.js';
import { RELEASE_SERVICES, type ReleaseService } from './rollout.js';

/**
 * Gray release on `/metrics`, read at scrape time (nothing on the hot path): each service's canary
 * weight with its state, calls that fell back to stable for want of a healthy canary instance, and
 * the rollbacks and scheduled steps this gateway stored (alert on `increase(rampart_release_rollbacks_total[5m]) > 0`).
 */
export function registerReleaseMetrics(metrics: Metrics, gray: GrayRelease, upstreams: Record<ReleaseService, Upstream>): void {
  metrics.gauge('rampart_release_weight_pct', 'Share of users (0-100) routed to the canary, by service, releases and rollout state', ['service', 'stable', 'canary', 'state'], () =>
    RELEASE_SERVICES.map((service) => {
      const r = gray.store.get(service);
      return [{ service, stable: r.stable, canary: r.canary ?? '', state: r.state }, r.state === 'progressing' ? r.weightPct : 0];
    }),
  );
  metrics.counterFrom('rampart_release_fallbacks_total', 'Calls meant for a release with no healthy instance, served by stable instead (this gateway)', ['service', 'release'], () =>
    RELEASE_SERVICES.flatMap((service) => Object.entries(upstreams[service].releaseFallbacks?.() ?? {}).map(([release, n]) => [{ service, release }, n] as [{ service: string; release: string }, number])),
  );
  metrics.counterFrom('rampart_release_rollbacks_total', 'Canary rollbacks this gateway stored (the judge found a regression)', ['service'], () =>
    RELEASE_SERVICES.map((service) => [{ service }, gray.counters.rollbacks[service]]),
  );
  metrics.counterFrom('rampart_release_steps_total', 'Scheduled canary steps this gateway stored', ['service'], () =>
    RELEASE_SERVICES.map((service) => [{ service }, gray.counters.steps[service]]),
  );
}
