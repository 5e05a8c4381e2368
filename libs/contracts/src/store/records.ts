import type { ActivityConfig } from '../activities/activity-config.js';
import { giftBuckets } from './gift-buckets.js';
import type { AdminOrderView, DeliveryMode, GiftView, OrderHistoryEntry, OrderStatus, OrderView } from '../messages/views.js';

/**
 * Field names of the Redis hashes, and their conversion to the views the API returns. Kept beside
 * the key layout so the writer (delivery) and the reader (query) cannot drift apart.
 */
export interface GiftRecord {
  activityId: string;
  name: string;
  inventory: number;
  reserved: number;
  /** Orders delivered (the lifecycle counts each move to `delivered`). */
  delivered: number;
  /** 0 when the gift has no daily limit. */
  dailyLimit: number;
  perUserLimit: number;
  delivery: DeliveryMode;
  providerUrl: string;
  orderNumbers: boolean;
  startsAtMs: number;
  endsAtMs: number;
  /** Buckets the gift is split over (1: not split); see `giftBuckets`. */
  buckets: number;
}

export function parseGiftRecord(hash: Record<string, string>): GiftRecord | undefined {
  if (!hash.activityId) return undefined;
  return {
    activityId: hash.activityId,
    name: hash.name ?? '',
    inventory: Number(hash.inventory ?? 0),
    reserved: Number(hash.reserved ?? 0),
    delivered: Number(hash.delivered ?? 0),
    dailyLimit: Number(hash.dailyLimit ?? 0),
    perUserLimit: Number(hash.perUserLimit ?? 1),
    delivery: hash.delivery === 'async' ? 'async' : 'sync',
    providerUrl: hash.providerUrl ?? '',
    orderNumbers: hash.orderNumbers === '1',
    startsAtMs: Number(hash.startsAtMs ?? 0),
    endsAtMs: Number(hash.endsAtMs ?? 0),
    buckets: Number(hash.buckets ?? 1),
  };
}

/** The public view of a gift, given how many were reserved today. */
export function toGiftView(giftId: string, gift: GiftRecord, reservedToday: number): GiftView {
  const remaining = Math.max(0, gift.inventory - gift.reserved);
  const dailyRemaining = gift.dailyLimit > 0 ? Math.max(0, Math.min(remaining, gift.dailyLimit - reservedToday)) : remaining;
  return {
    giftId,
    activityId: gift.activityId,
    name: gift.name,
    remaining,
    dailyRemaining,
    perUserLimit: gift.perUserLimit,
    delivery: gift.delivery,
  };
}

/**
 * An order's state hash as stored in its gift's slot (`RedisKeys.orderState`). Not an order when
 * the claim was refused (`status` `refused`: no reservation was made).
 */
export function toOrderView(hash: Record<string, string>): OrderView | undefined {
  if (!hash.orderId || !hash.status || hash.refusal || hash.status === 'refused') return undefined;
  return {
    orderId: hash.orderId,
    // A split gift's orders are stored in its buckets: the view names the gift.
    giftId: giftBuckets.giftOf(hash.giftId),
    activityId: hash.activityId,
    userId: hash.userId,
    status: hash.status as OrderStatus,
    attempts: Number(hash.attempts ?? 0),
    version: Number(hash.version ?? 0),
    createdAt: new Date(Number(hash.createdAtMs)).toISOString(),
    updatedAt: new Date(Number(hash.updatedAtMs)).toISOString(),
    ...(hash.error ? { error: hash.error } : {}),
  };
}

/** One line of an order's history list (`RedisKeys.orderHistory`): `<atMs>|<status>|<actor>|<reason>`. */
export function parseHistoryLine(raw: string): { atMs: number; status: string; actor: string; reason?: string } {
  const [atMs, status, actor, ...reason] = raw.split('|');
  const text = reason.join('|');
  return { atMs: Number(atMs), status, actor, ...(text ? { reason: text } : {}) };
}

/** The state-hash fields {@link toAdminOrderView} reads (a batch read asks for these only). */
export const ADMIN_ORDER_VIEW_FIELDS = [
  'orderId', 'giftId', 'activityId', 'userId', 'status', 'refusal', 'attempts', 'version',
  'createdAtMs', 'updatedAtMs', 'error', 'failure', 'providerRef', 'resolvedBy',
] as const;

/** The operators' view of an order: state hash and history lines; undefined when not an order. */
export function toAdminOrderView(hash: Record<string, string>, history: string[]): AdminOrderView | undefined {
  const view = toOrderView(hash);
  if (!view) return undefined;
  const entries: OrderHistoryEntry[] = history.map((raw) => {
    const line = parseHistoryLine(raw);
    return { status: line.status, at: new Date(line.atMs).toISOString(), ...(line.actor ? { actor: line.actor } : {}), ...(line.reason ? { reason: line.reason } : {}) };
  });
  return {
    ...view,
    ...(hash.failure === 'refused' || hash.failure === 'exhausted' ? { failure: hash.failure } : {}),
    ...(hash.providerRef ? { providerRef: hash.providerRef } : {}),
    ...(hash.resolvedBy ? { resolvedBy: hash.resolvedBy } : {}),
    history: entries,
  };
}

/**
 * An activity's configuration as stored (the activity hash and its gifts' hashes, in the activity's
 * gift order), in the shape it was published in; undefined when the activity does not exist.
 */
export function toStoredActivityConfig(activity: Record<string, string>, gifts: Array<GiftRecord & { giftId: string }>): ActivityConfig | undefined {
  if (!activity.name) return undefined;
  return {
    name: activity.name,
    startsAt: new Date(Number(activity.startsAtMs)).toISOString(),
    endsAt: new Date(Number(activity.endsAtMs)).toISOString(),
    ...(activity.successObjective ? { successObjective: Number(activity.successObjective) } : {}),
    gifts: gifts.map((g) => ({
      giftId: g.giftId,
      name: g.name,
      inventory: g.inventory,
      ...(g.dailyLimit > 0 ? { dailyLimit: g.dailyLimit } : {}),
      perUserLimit: g.perUserLimit,
      delivery: g.delivery,
      provider: { url: g.providerUrl, orderNumbers: g.orderNumbers },
      ...(g.buckets > 1 ? { buckets: g.buckets } : {}),
    })),
  };
}
