import { http } from '../support/http.js';
import type { Deployment } from './deployment.js';

export const ACTIVITY_ID = 'torture';
/** The activity that ends during the schedule: retention removes its orders from Redis while clients go on. */
export const SHORT_ACTIVITY_ID = 'torture-short';

/** One gift of the torture activity. `orderNumbers` says which provider stub delivers it. */
export interface TortureGift {
  giftId: string;
  delivery: 'sync' | 'async';
  orderNumbers: boolean;
  inventory: number;
  dailyLimit?: number;
  perUserLimit: number;
  /** Share of claims aimed at it. */
  weight: number;
  /** In the activity that ends during the schedule (its orders are archived and leave Redis). */
  short?: boolean;
  /** Split over this many buckets (a hot gift; see the contracts' giftBuckets). */
  buckets?: number;
}

/**
 * Sync and async gifts on each provider, a scarce one that sells out, one with a small daily limit,
 * and a hot gift split over 3 buckets that sells out (its rebalancer moves the last units around).
 */
export const GIFTS: readonly TortureGift[] = [
  { giftId: 'sync-on', delivery: 'sync', orderNumbers: true, inventory: 5000, perUserLimit: 3, weight: 20 },
  { giftId: 'async-on', delivery: 'async', orderNumbers: true, inventory: 5000, perUserLimit: 3, weight: 20 },
  { giftId: 'sync-off', delivery: 'sync', orderNumbers: false, inventory: 5000, perUserLimit: 3, weight: 20 },
  { giftId: 'async-off', delivery: 'async', orderNumbers: false, inventory: 5000, perUserLimit: 2, weight: 15 },
  { giftId: 'scarce', delivery: 'sync', orderNumbers: true, inventory: 12, perUserLimit: 1, weight: 10 },
  { giftId: 'daily', delivery: 'async', orderNumbers: true, inventory: 5000, dailyLimit: 20, perUserLimit: 2, weight: 15 },
  { giftId: 'split', delivery: 'sync', orderNumbers: true, inventory: 30, perUserLimit: 2, weight: 10, buckets: 3 },
  { giftId: 'short-sync', delivery: 'sync', orderNumbers: true, inventory: 5000, perUserLimit: 3, weight: 10, short: true },
  { giftId: 'short-off', delivery: 'async', orderNumbers: false, inventory: 5000, perUserLimit: 2, weight: 8, short: true },
];

export function giftById(giftId: string): TortureGift {
  const gift = GIFTS.find((g) => g.giftId === giftId);
  if (!gift) throw new Error(`unknown gift ${giftId}`);
  return gift;
}

/** Publishes the activities through the first gateway: one open for a day, the short one until `shortEndsAtMs`. */
export async function publishActivities(d: Deployment, shortEndsAtMs: number): Promise<void> {
  await publishActivity(d, ACTIVITY_ID, 'Torture', GIFTS.filter((g) => !g.short), Date.now() + 86_400_000);
  await publishActivity(d, SHORT_ACTIVITY_ID, 'Torture (short)', GIFTS.filter((g) => g.short), shortEndsAtMs);
}

async function publishActivity(d: Deployment, activityId: string, name: string, gifts: readonly TortureGift[], endsAtMs: number): Promise<void> {
  const body = {
    name,
    startsAt: new Date(Date.now() - 3_600_000).toISOString(),
    endsAt: new Date(endsAtMs).toISOString(),
    gifts: gifts.map((g) => ({
      giftId: g.giftId,
      name: g.giftId,
      inventory: g.inventory,
      ...(g.dailyLimit ? { dailyLimit: g.dailyLimit } : {}),
      perUserLimit: g.perUserLimit,
      delivery: g.delivery,
      provider: { url: g.orderNumbers ? d.providerOn : d.providerOff, orderNumbers: g.orderNumbers },
      ...(g.buckets ? { buckets: g.buckets } : {}),
    })),
  };
  const res = await http('PUT', `${d.gatewayUrls[0]}/admin/activities/${activityId}`, { token: d.adminToken, body });
  if (res.status !== 200 && res.status !== 201) throw new Error(`publishing ${activityId} failed: ${res.status} ${res.text}`);
}
