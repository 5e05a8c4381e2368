import type { ActivityView, OrderView } from '@app/contracts';
import type { ClaimRefusal, OverviewActivity, OverviewGift } from './overview.view.js';

/**
 * Per-gift eligibility of one user, derived from the activities and the user's orders (no call):
 * the first refusal a claim would get, in the contract's order — outside the activity's window
 * (NOT_ACTIVE), as many non-failed orders of the gift as `perUserLimit` (USER_LIMIT_REACHED), no
 * inventory (SOLD_OUT), no daily quota left (DAILY_LIMIT_REACHED). What the views do not carry (a
 * paused gift, TOO_MANY_UNCERTAIN, the rate limit) is only known to a claim; `canClaim` is a hint.
 */
export function withEligibility(activities: readonly ActivityView[], orders: readonly OrderView[], nowMs: number): OverviewActivity[] {
  const byGift = new Map<string, OrderView[]>();
  for (const order of orders) {
    const list = byGift.get(order.giftId);
    if (list) list.push(order);
    else byGift.set(order.giftId, [order]);
  }
  return activities.map(({ gifts, ...activity }) => {
    const isOpen = Date.parse(activity.startsAt) <= nowMs && nowMs < Date.parse(activity.endsAt);
    return {
      ...activity,
      isOpen,
      gifts: gifts.map((gift): OverviewGift => {
        const mine = byGift.get(gift.giftId) ?? [];
        const claimed = mine.filter((o) => o.status !== 'failed').length;
        const reason = refusal(isOpen, claimed, gift);
        return { ...gift, canClaim: reason === undefined, ...(reason ? { reason } : {}), claimed, orders: mine };
      }),
    };
  });
}

function refusal(isOpen: boolean, claimed: number, gift: { perUserLimit: number; remaining: number; dailyRemaining: number }): ClaimRefusal | undefined {
  if (!isOpen) return 'NOT_ACTIVE';
  if (claimed >= gift.perUserLimit) return 'USER_LIMIT_REACHED';
  if (gift.remaining <= 0) return 'SOLD_OUT';
  if (gift.dailyRemaining <= 0) return 'DAILY_LIMIT_REACHED';
  return undefined;
}
