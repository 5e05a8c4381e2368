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
