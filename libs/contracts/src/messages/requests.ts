import type { ActivityConfig } from '../activities/activity-config.js';
import type { MessageMeta } from './message-meta.js';
import type { OrderStatus } from './views.js';

export interface GetGiftRequest { meta: MessageMeta; giftId: string }
export interface GetActivityRequest { meta: MessageMeta; activityId: string }
export interface ListActivitiesRequest { meta: MessageMeta }
export interface GetOrderRequest { meta: MessageMeta; orderId: string; userId: string }
export interface ListUserOrdersRequest { meta: MessageMeta; userId: string; limit: number }
export interface ListUserOrdersReply { orders: import('./views.js').OrderView[] }
/** `gift.recommend`: at most `limit` gifts of open activities the user may still claim, most remaining first. */
export interface RecommendationsRequest { meta: MessageMeta; userId: string; limit: number }
export interface RecommendationsReply { gifts: import('./views.js').GiftView[] }

/** `gift.claim`: the idempotency key is the order number. */
export interface ClaimGiftRequest {
  meta: MessageMeta;
  giftId: string;
  userId: string;
  orderId: string;
}
/** 200 when `delivered`, 202 for any other status. */
export interface ClaimGiftReply {
  orderId: string;
  status: OrderStatus;
}

export interface PublishActivityRequest {
  meta: MessageMeta;
  activityId: string;
  /** Already shape-checked by the gateway; the delivery service checks it against storage. */
  config: ActivityConfig;
  actor: string;
}
export interface PublishActivityReply {
  activityId: string;
  /** True when the activity existed before and was updated. */
  updated: boolean;
}

/** `queue.counts` reply (contract section 3). */
export interface QueueCountsReply {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}
/** One dead-lettered order (`queue.failed`). */
export interface DeadLetter {
  orderId: string;
  reason: string;
  attempts: number;
  failedAt: string;
}
export interface QueueFailedRequest { meta: MessageMeta; limit: number }
export interface QueueFailedReply { failed: DeadLetter[] }
export interface RetryFailedRequest { meta: MessageMeta; orderId: string; actor: string }
/** `order.resolve`: the operator's verdict on an uncertain order. */
export interface ResolveOrderRequest {
  meta: MessageMeta;
  orderId: string;
  delivered: boolean;
  reason: string;
  actor: string;
}
export interface OrderStatusReply { orderId: string; status: OrderStatus }
