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
 * total is shared out (the odd units first to the buckets a claim found empty, `wanted`, then to
 * those that hold most, which saves moves: at the tail units go where the demand is), buckets
 * above their share give the excess to the pool, and the pool fills the buckets below theirs.
 * Pure: the Redis scripts re-check every move (a claim may have taken units meanwhile).
 */
export function planBuckets(pool: number, available: readonly number[], wanted: readonly boolean[] = []): BucketPlan {
  const spare = available.map((units) => Math.max(0, units));
  const total = Math.max(0, pool) + spare.reduce((sum, units) => sum + units, 0);
  const plan: BucketPlan = { reclaim: [], allot: [], empty: total === 0 };
  if (total === 0) return plan;
  const byHolding = spare.map((_, i) => i).sort((a, b) => Number(!!wanted[b]) - Number(!!wanted[a]) || spare[b] - spare[a] || a - b);
  const target = new Array<number>(spare.length);
  byHolding.forEach((bucket, rank) => (target[bucket] = giftBuckets.share(total, spare.length, rank)));
  const low = spare.some((units, i) => units < Math.ceil(target[i] / 2));
  if (!low && pool <= 0) return plan;
  if (low) spare.forEach((units, bucket) => units > target[bucket] && plan.reclaim.push({ bucket, units: units - target[bucket] }));
  // Without reclaiming (no bucket is low), only the pool is there to hand out.
  let budget = Math.max(0, pool) + plan.reclaim.reduce((sum, move) => sum + move.units, 0);
  spare.forEach((units, bucket) => {
    const wanted = Math.min(target[bucket] - units, budget);
    if (wanted > 0) plan.allot.push({ bucket, units: wanted });
    budget -= Math.max(0, wanted);
  });
  return plan;
}
