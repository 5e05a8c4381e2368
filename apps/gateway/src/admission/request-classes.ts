import type { RequestClass } from '@app/resilience';
import type { PolicedService } from '../policies/resilience-policies.js';

/** How one user route is admitted: its priority class and the service whose limit it uses. */
export interface AdmittedRoute {
  cls: RequestClass;
  service: PolicedService;
  /** A long-lived stream: admitted like any request, but it holds no slot while it streams. */
  isStream?: boolean;
}

/**
 * Every user route and its class (`METHOD /route/:param`, as Fastify names routes). Routes not listed
 * (operators' `/admin/*`, health, metrics, docs) are never shed by admission control: operators
 * and probes must get through a storm.
 */
export const ADMITTED_ROUTES: Readonly<Record<string, AdmittedRoute>> = Object.freeze({
  'POST /api/gifts/:giftId/claims': { cls: 'claim', service: 'delivery' },
  'GET /api/orders/:orderId': { cls: 'status', service: 'query' },
  'POST /api/orders/:orderId/events/ticket': { cls: 'status', service: 'query' },
  'GET /api/orders/:orderId/events': { cls: 'status', service: 'query', isStream: true },
  'GET /api/me/orders': { cls: 'status', service: 'query' },
  'GET /api/gifts/:giftId': { cls: 'read', service: 'query' },
  'GET /api/activities/:activityId': { cls: 'read', service: 'query' },
  'GET /api/me/overview': { cls: 'overview', service: 'query' },
  'POST /api/batch': { cls: 'overview', service: 'query' },
});

/** The admission of a route, by method and Fastify route URL; undefined when the route is never shed. */
export function admittedRoute(method: string, url: string | undefined): AdmittedRoute | undefined {
  if (url === undefined) return undefined;
  const key = `${method} ${url}`;
  return Object.hasOwn(ADMITTED_ROUTES, key) ? ADMITTED_ROUTES[key] : undefined;
}
