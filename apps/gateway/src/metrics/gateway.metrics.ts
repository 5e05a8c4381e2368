import type { FlagCache, Metrics } from '@app/platform';
import { REQUEST_CLASSES } from '@app/resilience';
import type { AdmissionGate } from '../admission/admission.gate.js';
import type { ClaimRateLimiter } from '../claims/claim-rate-limiter.js';
import type { SoldOutLatch } from '../claims/sold-out.latch.js';
import type { ResiliencePolicies } from '../policies/resilience-policies.js';
import type { Upstream } from '../upstream/upstream.client.js';

const STATE = { healthy: 0, probing: 1, ejected: 2 } as const;
const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** What the gateway's metrics are read from. */
export interface GatewayMetricSources {
  upstreams: Record<string, Upstream>;
  flags: FlagCache;
  policies?: ResiliencePolicies;
  rateLimiter?: ClaimRateLimiter;
  /** The adaptive admission gate (absent with ADMISSION_MODE=static). */
  admission?: AdmissionGate;
  soldOutLatch?: SoldOutLatch;
}

/**
 * Metrics of the gateway read at scrape time from the routers' windows, the policies' counters and
 * the flag cache: no cost on the request path. Per-instance series are labelled `service` and
 * `upstream` (the instance's `host:port`). Not `instance`: Prometheus sets `instance` to the
 * scraped target (the gateway) and renames ours to `exported_instance`, so an alert would name the
 * gateway instead of the bad upstream.
 */
export function registerGatewayMetrics(metrics: Metrics, sources: GatewayMetricSources): void {
  const rows = () =>
    Object.entries(sources.upstreams).flatMap(([service, upstream]) => (upstream.snapshot?.() ?? []).map((s) => ({ service, ...s })));
  const perUpstream = (name: string, help: string, value: (r: ReturnType<typeof rows>[number]) => number) =>
    metrics.gauge(name, help, ['service', 'upstream'], () => rows().map((r) => [{ service: r.service, upstream: r.endpoint }, value(r)]));
  perUpstream('rampart_upstream_state', 'Instance state (0 healthy, 1 probing, 2 ejected)', (r) => STATE[r.state]);
  perUpstream('rampart_upstream_success_rate', 'Share of successful calls to the instance in the routing window', (r) => r.successRate);
  perUpstream('rampart_upstream_window_requests', 'Calls to the instance in the routing window', (r) => r.requests);
  perUpstream('rampart_upstream_p99_seconds', '99th percentile latency of the instance in the routing window', (r) => r.p99Ms / 1000);
  perUpstream('rampart_upstream_ejections', 'Ejections of the instance since it became known', (r) => r.ejections);
  metrics.gauge('rampart_flag_enabled', 'Degradation flags as this instance sees them (1 enabled)', ['flag'], () =>
    Object.entries(sources.flags.all()).map(([flag, on]) => [{ flag }, on ? 1 : 0]),
  );
  const { policies, rateLimiter, admission, soldOutLatch } = sources;
  if (soldOutLatch) {
    metrics.counterFrom('rampart_sold_out_latch_hits_total', 'Claims answered 409 SOLD_OUT by the sold-out latch (no Redis, no upstream call)', [], () => [[{}, soldOutLatch.hits]]);
    metrics.gauge('rampart_sold_out_latches', 'Gifts latched sold out on this gateway', [], () => [[{}, soldOutLatch.latchedGifts().length]]);
  }
  if (policies) registerPolicyMetrics(metrics, policies);
  if (admission) registerAdmissionMetrics(metrics, admission);
  if (rateLimiter) {
    metrics.counterFrom('rampart_rate_limited_total', 'Claims refused with 429 RATE_LIMITED (per-user rate of new claims)', [], () => [[{}, rateLimiter.refused]]);
  }
}

/** The admission gate per upstream service: limit, in flight, decisions per class, cohorts admitted. */
function registerAdmissionMetrics(metrics: Metrics, admission: AdmissionGate): void {
  const rows = () => Object.entries(admission.snapshot());
  metrics.gauge('rampart_admission_limit', 'Adaptive concurrency limit of the calls to a service (upstream = the service)', ['upstream'], () =>
    rows().map(([upstream, s]) => [{ upstream }, s.limit]),
  );
  metrics.gauge('rampart_admission_inflight', 'Requests in flight under the admission limit', ['upstream'], () => rows().map(([upstream, s]) => [{ upstream }, s.inflight]));
  metrics.gauge('rampart_admission_baseline_seconds', 'Latency of the service without a queue, as the limit last measured it', ['upstream'], () =>
    rows().map(([upstream, s]) => [{ upstream }, s.baselineMs / 1000]),
  );
  metrics.counterFrom('rampart_admission_requests_total', 'Admission decisions by class: admitted, refused for the limit, refused for the user cohort', ['upstream', 'class', 'outcome'], () =>
    rows().flatMap(([upstream, s]) =>
      REQUEST_CLASSES.flatMap((cls): Array<[{ upstream: string; class: string; outcome: string }, number]> => [
        [{ upstream, class: cls, outcome: 'admitted' }, s.classes[cls].admitted],
        [{ upstream, class: cls, outcome: 'refused_limit' }, s.classes[cls].refusedLimit],
        [{ upstream, class: cls, outcome: 'refused_cohort' }, s.classes[cls].refusedCohort],
      ]),
    ),
  );
  metrics.gauge('rampart_admission_inflight_by_class', 'Requests in flight by class', ['upstream', 'class'], () =>
    rows().flatMap(([upstream, s]) => REQUEST_CLASSES.map((cls): [{ upstream: string; class: string }, number] => [{ upstream, class: cls }, s.classes[cls].inflight])),
  );
  metrics.gauge('rampart_admission_priority_level', 'Priority keys (class rank × 128 + user cohort, of 640) the gateway admits; below 640 it is shedding by priority', [], () => [
    [{}, admission.prioritySnapshot().level],
  ]);
  metrics.gauge('rampart_event_loop_delay_seconds', 'Mean event-loop lag of the last admission window (the gateway\'s own queueing delay)', [], () => [
    [{}, admission.prioritySnapshot().delayMs / 1000],
  ]);
  metrics.gauge('rampart_admission_cpu_share', 'Share of the last admission window the gateway ran on a core (CPU time over wall time); under 0.8 while overloaded it is starved of CPU and sheds no claims by priority', [], () => [
    [{}, admission.prioritySnapshot().cpuShare],
  ]);
  metrics.counterFrom('rampart_admission_priority_refused_total', 'Requests refused by the priority level (the gateway itself overloaded), by class', ['class'], () =>
    REQUEST_CLASSES.map((cls): [{ class: string }, number] => [{ class: cls }, admission.refusedByPriority[cls]]),
  );
  metrics.gauge('rampart_admission_cohorts', 'User cohorts (of 128) a class admits now; fewer under sustained overload', ['upstream', 'class'], () =>
    rows().flatMap(([upstream, s]) => REQUEST_CLASSES.map((cls): [{ upstream: string; class: string }, number] => [{ upstream, class: cls }, s.classes[cls].admittedCohorts])),
  );
}

/** Route breakers, bulkheads and the retry layer of the gateway's resilience policies. */
function registerPolicyMetrics(metrics: Metrics, policies: ResiliencePolicies): void {
  // Same names as delivery's provider breakers (the `app` label tells them apart), so one alert covers both.
  metrics.gauge('rampart_breaker_state', 'Circuit state (0 closed, 1 half-open, 2 open)', ['breaker'], () =>
    policies.snapshot().map((b) => [{ breaker: b.name }, BREAKER_STATE[b.state]]),
  );
  metrics.gauge('rampart_breaker_rejects', 'Calls failed fast by an open circuit, in its window', ['breaker'], () =>
    policies.snapshot().map((b) => [{ breaker: b.name }, b.rejects]),
  );
  metrics.counterFrom('rampart_bulkhead_rejected_total', 'Calls refused by a full bulkhead (timeout class), since start', ['class'], () =>
    policies.bulkheads().map((b) => [{ class: b.name }, b.rejected]),
  );
  metrics.gauge('rampart_bulkhead_active', 'Calls running in the bulkhead now', ['class'], () => policies.bulkheads().map((b) => [{ class: b.name }, b.active]));
  metrics.gauge('rampart_bulkhead_queued', 'Calls waiting for a bulkhead slot now', ['class'], () => policies.bulkheads().map((b) => [{ class: b.name }, b.queued]));
  const perService = (pick: (c: ReturnType<ResiliencePolicies['retries']>[string]) => number) => () =>
    Object.entries(policies.retries()).map(([service, c]): [{ service: string }, number] => [{ service }, pick(c)]);
  metrics.counterFrom('rampart_retries_total', 'Retries of idempotent calls, by service', ['service'], perService((c) => c.retries));
  metrics.counterFrom('rampart_retries_suppressed_total', 'Retries not made: the success-rate gate was shut (gate) or the retry budget was spent (budget)', ['service', 'reason'], () =>
    Object.entries(policies.retries()).flatMap(([service, c]): Array<[{ service: string; reason: string }, number]> => [
      [{ service, reason: 'gate' }, c.gated],
      [{ service, reason: 'budget' }, c.overBudget],
    ]),
  );
  metrics.counterFrom('rampart_stale_answers_total', 'Reads answered from the last good value because the service could not answer', ['service'], perService((c) => c.stale));
  metrics.counterFrom('rampart_shed_total', 'Calls refused at once by the service.{name}.shed flag', ['service'], perService((c) => c.shed));
  metrics.counterFrom('rampart_client_throttled_total', 'Calls refused locally by client-side throttling (the service refused or timed out most recent calls)', ['service'], perService((c) => c.throttled));
}
