import type { ActivityView, GiftView, OrderView } from '@app/contracts';

/** Why a gift cannot be claimed now, as the claim would answer (first that applies, contract order). */
export type ClaimRefusal = 'NOT_ACTIVE' | 'USER_LIMIT_REACHED' | 'SOLD_OUT' | 'DAILY_LIMIT_REACHED';

/** A gift of the overview: the gift view plus this user's standing. */
export interface OverviewGift extends GiftView {
  /** Whether a claim by this user would be accepted now, as far as the gateway can tell. */
  canClaim: boolean;
  /** Why not, when `canClaim` is false. */
  reason?: ClaimRefusal;
  /** This user's orders of this gift that are not `failed` (what `perUserLimit` counts). */
  claimed: number;
  /** This user's orders of this gift, any status, newest first. */
  orders: OrderView[];
}

/** An activity of the overview. */
export interface OverviewActivity extends Omit<ActivityView, 'gifts'> {
  /** Whether now is inside [startsAt, endsAt). */
  isOpen: boolean;
  gifts: OverviewGift[];
}

/** `GET /api/me/overview` (README, "Overview and batch"). */
export interface OverviewView {
  /** Every published activity, by id, with per-gift eligibility and orders. */
  activities: OverviewActivity[];
  /** The user's orders, newest first (as `GET /api/me/orders?limit=200`). */
  orders: OrderView[];
  /** Gifts the user may still claim, most remaining first; absent when degraded. */
  recommendations?: GiftView[];
  /** Non-essential parts left out because they failed or were too slow; `[]` when complete. */
  degraded: string[];
}
