import { planBuckets } from './bucket-plan.js';

const after = (pool: number, available: number[]) => {
  const plan = planBuckets(pool, available);
  const next = [...available];
  let left = pool;
  for (const { bucket, units } of plan.reclaim) (next[bucket] -= units), (left += units);
  for (const { bucket, units } of plan.allot) (next[bucket] += units), (left -= units);
  return { plan, next, left };
};

describe('planBuckets', () => {
  it('fills empty buckets from the pool, evenly', () => {
    const { next, left } = after(10, [0, 0, 0]);
    expect(next).toEqual([4, 3, 3]);
    expect(left).toBe(0);
  });

  it('moves nothing while every bucket holds at least half its share and the pool is empty', () => {
    expect(planBuckets(0, [10, 6, 8])).toEqual({ reclaim: [], allot: [], empty: false });
  });

  it('levels through the pool when a bucket runs low: the full ones give, the low one gets', () => {
    const { plan, next, left } = after(0, [10, 1, 10]);
    expect(plan.reclaim.map((m) => m.bucket).sort()).toEqual([0, 2]);
    expect(next).toEqual([7, 7, 7]);
    expect(left).toBe(0);
  });

  it('sends the last units where they are, not around (the odd units go to the buckets that hold most)', () => {
    expect(planBuckets(0, [0, 1, 0, 1])).toEqual({ reclaim: [], allot: [], empty: false });
    const { next } = after(0, [0, 2, 0]);
    expect(next.reduce((a, b) => a + b)).toBe(2);
    expect(Math.max(...next)).toBe(1);
  });

  it('at the tail, moves the last units to the buckets a claim found empty', () => {
    const plan = planBuckets(0, [0, 1, 0], [true, false, false]);
    expect(plan.reclaim).toEqual([{ bucket: 1, units: 1 }]);
    expect(plan.allot).toEqual([{ bucket: 0, units: 1 }]);
  });

  it('says empty only when the pool and every bucket are empty (a bucket over-reserved counts as empty)', () => {
    expect(planBuckets(0, [0, 0, 0]).empty).toBe(true);
    expect(planBuckets(0, [0, -1, 0]).empty).toBe(true);
    expect(planBuckets(1, [0, 0, 0]).empty).toBe(false);
  });

  it('never plans more out of the pool than the pool and the reclaimed units hold', () => {
    for (let seed = 1; seed <= 500; seed++) {
      let x = seed;
      const rand = (n: number) => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31), x % n);
      const available = Array.from({ length: 1 + rand(9) }, () => rand(50));
      const pool = rand(30);
      const { next, left } = after(pool, available);
      expect(left).toBeGreaterThanOrEqual(0);
      expect(next.every((units) => units >= 0)).toBe(true);
      expect(next.reduce((a, b) => a + b, 0) + left).toBe(available.reduce((a, b) => a + b, 0) + pool);
    }
  });
});
