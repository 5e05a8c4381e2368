/** How a gift is delivered: inside the claim request, or through the delivery queue. */
export type DeliveryMode = 'sync' | 'async';

/** The order lifecycle (contract section 2). `delivered` and `failed` are terminal. */
export const OrderStatuses = ['reserved', 'queued', 'delivering', 'delivered', 'uncertain', 'failed'] as const;
export type OrderStatus = (typeof OrderStatuses)[number];
export const isTerminalStatus = (status: OrderStatus): boolean => status === 'delivered' || status === 'failed';

/** `GET /api/gifts/{giftId}` */
export interface GiftView {
  giftId: string;
  activityId: string;
  name: string;
  remaining: number;
  dailyRemaining: number;
  perUserLimit: number;
  delivery: DeliveryMode;
}

/** `GET /api/activities/{activityId}` */
export interface ActivityView {
  activityId: string;
  name: string;
  startsAt: string;
  endsAt: string;
  gifts: GiftView[];
}

/** `GET /api/orders/{orderId}` */
export interface OrderView {
  orderId: string;
  giftId: string;
  activityId: string;
  userId: string;
  status: OrderStatus;
  attempts: number;
  /** One more per status change: a client (and the event stream) can order what it saw. */
  version: number;
  createdAt: string;
  updatedAt: string;
  error?: string;
}

/** One status change of an order (`GET /admin/orders/{orderId}`). */
export interface OrderHistoryEntry {
  status: string;
  /** ISO time (Redis server time) of the change. */
  at: string;
  /** Who moved the order: `claim`, `worker`, `sweeper` (the reconciler) or `operator`. */
  actor?: string;
  reason?: string;
}

/** An order as operators see it: the user's view plus its history and delivery details. */
export interface AdminOrderView extends OrderView {
  /** Why a failed order failed: the provider refused it (4xx), or its tries ran out. */
  failure?: 'refused' | 'exhausted';
  providerRef?: string;
  /** The operator who settled it (resolve). */
  resolvedBy?: string;
  history: OrderHistoryEntry[];
}

/** `GET /admin/orders` */
export interface AdminOrderList {
  orders: OrderView[];
  /** Present while there may be more: pass it as `cursor=` for the next page (a page may be short). */
  nextCursor?: string;
}

/** What a gift has consumed (`GET /admin/activities/{id}`). */
export interface GiftConsumption {
  /** Units held by orders (delivered or on their way; failed orders released theirs). */
  reserved: number;
  /** Orders delivered (counted since this version; earlier deliveries are not in it). */
  delivered: number;
  /** Inventory not reserved. */
  remaining: number;
  /** Units reserved today (UTC), against the daily limit. */
  reservedToday: number;
}
