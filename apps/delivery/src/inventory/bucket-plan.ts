import { giftBuckets } from '@app/contracts';

/** Units to move out of one bucket into its gift's pool (`reclaim`), or from the pool into it (`allot`). */
export interface BucketMove {
  bucket: number;
  units: number;
}

export interface BucketPlan {
  reclaim: BucketMove[];
  allot: BucketMove[];
  /** Nothing is left anywhere: the pool and every bucket are empty (the gift is sold out). */
  empty: boolean;
}

/**
 * What a rebalancing pass of a split gift moves, from what its pool (inventory not handed to any
 * bucket) and its buckets (inventory − reserved each) hold. Nothing moves while every bucket holds
 * at least half of its level share and the pool is empty; otherwise the stock is levelled: the
 * total is shared out (the odd units to the buckets that hold most, which saves moves), buckets
 * above their share give the excess to the pool, and the pool fills the buckets below theirs.
 * Pure: the Redis scripts re-check every move (a claim may have taken units meanwhile).
 */
export function planBuckets(pool: number, available: readonly number[]): BucketPlan {
  const spare = available.map((units) => Math.max(0, units));
  const total = Math.max(0, pool) + spare.reduce((sum, units) => sum + units, 0);
  const plan: BucketPlan = { reclaim: [], allot: [], empty: total === 0 };
  if (total === 0) return plan;
  const byHolding = spare.map((_, i) => i).sort((a, b) => spare[b] - spare[a] || a - b);
  const target = new Array<number>(spare.length);
  byHolding.forEach((bucket, rank) => (target[bucket] = giftBuckets.share(total, spare.length, rank)));
  const low = spare.some((units, i) => units < Math.ceil(target[i] / 2));
  if (!low && pool <= 0) return plan;
  spare.forEach((units, bucket) => {
    if (units > target[bucket] && low) plan.reclaim.push({ bucket, units: units - target[bucket] });
    if (units < target[bucket]) plan.allot.push({ bucket, units: target[bucket] - units });
  });
  return plan;
}
