import { Patterns, type Pattern } from '@app/contracts';
import type { TimeoutClassName } from '@app/resilience';
import type { RouteOverride } from '../config/gateway.config.js';

/** When a read may be answered from the last good value while its service cannot answer. */
export type StaleRule =
  /** never: writes, and reads whose stale answer would mislead (none yet). */
  | 'never'
  /** only while the `query.serveStale` flag is on. */
  | 'flag'
  /** always (the route allows it): data that rarely changes, e.g. an activity's configuration. */
  | 'always';

/** How the calls of one route are protected. */
export interface RouteSpec {
  /** Timeout class: its bulkhead and default per-attempt timeout. */
  timeoutClass: TimeoutClassName;
  /** Per-attempt timeout override, in ms (else the class's). */
  timeoutMs?: number;
  /** Whether the gateway may send the call again (to another instance). Reads only; never a claim. */
  idempotent: boolean;
  stale: StaleRule;
}

/**
 * Every upstream call the gateway makes, by route name. A route name defaults to the message
 * pattern (`gift.get`); a caller may name its own route (`CallOptions.route`) to get a breaker of
 * its own, with the spec of its pattern. `ROUTE_POLICIES` overrides class and timeout per route.
 */
export const ROUTE_TABLE: Readonly<Record<Pattern, Readonly<RouteSpec>>> = Object.freeze({
  [Patterns.GetGift]: { timeoutClass: 'fast', idempotent: true, stale: 'flag' },
  [Patterns.GetActivity]: { timeoutClass: 'fast', idempotent: true, stale: 'always' },
  [Patterns.ListActivities]: { timeoutClass: 'fast', idempotent: true, stale: 'always' },
  // Non-essential part of the overview: its caller picks the class (CallOptions.timeoutClass).
  [Patterns.Recommendations]: { timeoutClass: 'fast', idempotent: true, stale: 'flag' },
  [Patterns.GetOrder]: { timeoutClass: 'fast', idempotent: true, stale: 'flag' },
  [Patterns.ListUserOrders]: { timeoutClass: 'fast', idempotent: true, stale: 'flag' },
  // Operators' reads: safe to repeat, but an operator acts on what they show (resolves the work
  // list, discards a dead letter, reads consumption before a re-publish), so never a stale answer.
  [Patterns.AdminListOrders]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  [Patterns.AdminGetOrder]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  [Patterns.AdminGetActivity]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  // Analytics read PostgreSQL aggregates (a day of minutes at most): reads, but not from Redis.
  [Patterns.ActivityAnalytics]: { timeoutClass: 'slow', idempotent: true, stale: 'never' },
  [Patterns.AnalyticsRanking]: { timeoutClass: 'slow', idempotent: true, stale: 'never' },
  // A claim is never re-sent by the gateway: the client repeats it with the same Idempotency-Key.
  [Patterns.ClaimGift]: { timeoutClass: 'slow', idempotent: false, stale: 'never' },
  [Patterns.PublishActivity]: { timeoutClass: 'slow', idempotent: false, stale: 'never' },
  // A publish's dry run does the publish's checks against storage (slow class, beside the publish it
  // precedes) but stores and audits nothing: repeating it is harmless, so it is idempotent.
  [Patterns.PlanActivity]: { timeoutClass: 'slow', idempotent: true, stale: 'never' },
  [Patterns.QueueCounts]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  [Patterns.QueueFailed]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  [Patterns.ProviderBreakers]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
  [Patterns.RetryFailed]: { timeoutClass: 'slow', idempotent: false, stale: 'never' },
  // A discard is audited: sent twice, the second would answer 404 for a discard that happened.
  [Patterns.DiscardFailed]: { timeoutClass: 'slow', idempotent: false, stale: 'never' },
  [Patterns.ResolveOrder]: { timeoutClass: 'slow', idempotent: false, stale: 'never' },
  [Patterns.Ping]: { timeoutClass: 'fast', idempotent: true, stale: 'never' },
});

/** Spec of an unknown pattern (e.g. a newer service's): fast, not retried, never stale. */
const UNKNOWN: Readonly<RouteSpec> = Object.freeze({ timeoutClass: 'fast', idempotent: false, stale: 'never' });

/**
 * The spec of `route` (a route name, by default the pattern): the pattern's spec, with the
 * class and timeout of an override for the route name (or else for the pattern).
 */
export function routeSpec(pattern: string, route: string, overrides: Readonly<Record<string, RouteOverride>>): RouteSpec {
  const base = (Object.hasOwn(ROUTE_TABLE, pattern) ? ROUTE_TABLE[pattern as Pattern] : undefined) ?? UNKNOWN;
  const override = overrides[route] ?? overrides[pattern];
  return override ? { ...base, timeoutClass: override.timeoutClass, timeoutMs: override.timeoutMs } : { ...base };
}
