import { ActivitiesController } from '../activities/activities.controller.js';
import { GiftsController } from '../gifts/gifts.controller.js';
import { OrdersController } from '../orders/orders.controller.js';
import { OverviewController } from './overview.controller.js';

/** The controllers a batch sub-request is answered by: the same instances as single requests. */
export interface BatchTargets {
  gifts: GiftsController;
  activities: ActivitiesController;
  orders: OrdersController;
  overview: OverviewController;
}
/** Controller classes of {@link BatchTargets}, to look the instances up in the module. */
export const BATCH_TARGET_TYPES = { gifts: GiftsController, activities: ActivitiesController, orders: OrdersController, overview: OverviewController } as const;

/** Who asks and under which request id (`<batch request id>:<item id>`). */
export interface SubRequest {
  userId: string;
  requestId: string;
}

/** A resolved sub-request: runs it through its controller method. */
export type BoundRoute = (targets: BatchTargets, sub: SubRequest) => Promise<unknown>;

interface Route {
  pattern: RegExp;
  bind(params: string[], query: Record<string, string>): BoundRoute;
}

/**
 * The GET routes of the user API a batch may contain, each bound to the controller method that
 * serves it alone (same validation, upstream, routing and policies). Not included: the event
 * stream (`/api/orders/{id}/events`, not a JSON answer), writes, and `/api/batch` itself.
 */
const ROUTES: readonly Route[] = [
  { pattern: /^\/api\/gifts\/([^/]+)$/, bind: ([id]) => (t, s) => t.gifts.getGift(id, s.requestId, s.userId) },
  { pattern: /^\/api\/activities\/([^/]+)$/, bind: ([id]) => (t, s) => t.activities.getActivity(id, s.requestId, s.userId) },
  { pattern: /^\/api\/orders\/([^/]+)$/, bind: ([id]) => (t, s) => t.orders.getOrder(id, s.userId, s.requestId) },
  { pattern: /^\/api\/me\/orders$/, bind: (_, query) => (t, s) => t.orders.listOrders(query, s.userId, s.requestId) },
  { pattern: /^\/api\/me\/overview$/, bind: () => (t, s) => t.overview.getOverview(s.userId, s.requestId) },
];

/**
 * The route of `path` (with an optional query string), or undefined when no batchable route has
 * that path. Path parameters are percent-decoded as the router does; a path the URL parser would
 * rewrite (`..`, `//`, backslashes) matches nothing.
 */
export function resolveBatchPath(path: string): BoundRoute | undefined {
  if (!path.startsWith('/')) return undefined;
  let url: URL;
  try {
    url = new URL(path, 'http://batch.invalid');
  } catch {
    return undefined;
  }
  const rawPath = path.split(/[?#]/, 1)[0];
  if (url.pathname !== rawPath || url.hash) return undefined;
  for (const route of ROUTES) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    let params: string[];
    try {
      params = match.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return undefined;
    }
    return route.bind(params, Object.fromEntries(url.searchParams));
  }
  return undefined;
}
