import type { ActivityConfig, GiftConfig } from '../activities/activity-config.js';
import type { ActivityChanges } from '../activities/activity-diff.js';
import type { OrderCursor } from '../orders/order-cursor.js';
import type { MessageMeta } from './message-meta.js';
import type { GiftConsumption, OrderStatus } from './views.js';

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
  /** Why the operator publishes (optional; recorded in the audit log). */
  reason?: string;
}
/** `activity.plan`: a dry run of a publish. */
export interface PlanActivityRequest {
  meta: MessageMeta;
  activityId: string;
  config: ActivityConfig;
}
export interface PlanActivityReply {
  activityId: string;
  dryRun: true;
  changes: ActivityChanges;
}
/** `order.admin-list`: filters and the page (`limit` 1-100, `cursor` decoded by the gateway). */
export interface AdminListOrdersRequest {
  meta: MessageMeta;
  status?: OrderStatus;
  giftId?: string;
  userId?: string;
  limit: number;
  cursor?: OrderCursor;
}
export interface AdminGetOrderRequest { meta: MessageMeta; orderId: string }
export interface AdminGetActivityRequest { meta: MessageMeta; activityId: string }
/** `GET /admin/activities/{id}`: the stored configuration, each gift with what it consumed. */
export interface AdminActivityView {
  activityId: string;
  name: string;
  startsAt: string;
  endsAt: string;
  gifts: AdminActivityGift[];
}
/** A gift of `GET /admin/activities/{id}`: its stored configuration and what it consumed. */
export interface AdminActivityGift extends GiftConfig {
  consumed: GiftConsumption;
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
  /** `refused`: the provider refused it (4xx, permanent); `exhausted`: its tries ran out. */
  reason: 'refused' | 'exhausted';
  /** The last failure's message. */
  error: string;
  attempts: number;
  failedAt: string;
}
export interface QueueFailedRequest { meta: MessageMeta; limit: number }
export interface QueueFailedReply { failed: DeadLetter[] }
export interface RetryFailedRequest { meta: MessageMeta; orderId: string; actor: string; reason?: string }
/** `queue.discard-failed`: drop a dead letter; the order stays failed. */
export interface DiscardFailedRequest { meta: MessageMeta; orderId: string; actor: string; reason: string }
export interface DiscardFailedReply { orderId: string; status: 'failed'; discarded: true }
/** `order.resolve`: the operator's verdict on an uncertain order. */
export interface ResolveOrderRequest {
  meta: MessageMeta;
  orderId: string;
  delivered: boolean;
  reason: string;
  actor: string;
}
export interface OrderStatusReply { orderId: string; status: OrderStatus }
