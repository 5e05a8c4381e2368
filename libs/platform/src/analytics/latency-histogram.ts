/**
 * The analyzer's latency histogram: fixed log-scale buckets, four per doubling (each bucket's bounds
 * differ by 2^(1/4) ≈ 1.19, so an estimated quantile is within ±9% of the true one). Fixed bounds
 * make histograms mergeable by adding counts bucket by bucket: across analyzers, minutes, gifts.
 *
 * Bucket 0 holds [0, 1) ms; bucket b ≥ 1 holds [2^((b-1)/4), 2^(b/4)) ms; the last bucket also
 * holds everything above (about 17 minutes).
 */
export const LATENCY_BUCKETS = 82;
const PER_DOUBLING = 4;

export function latencyBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, 1 + Math.floor(PER_DOUBLING * Math.log2(ms)));
}

/** The value a bucket stands for: its geometric middle (0.5 ms for bucket 0). */
export function bucketValueMs(bucket: number): number {
  if (bucket <= 0) return 0.5;
  return 2 ** ((bucket - 0.5) / PER_DOUBLING);
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram given as bucket → count, in ms rounded to 0.1, or null
 * when it holds nothing. Nearest-rank: the bucket holding the ⌈q·n⌉-th smallest value.
 */
export function quantileMs(buckets: ReadonlyMap<number, number>, q: number): number | null {
  let total = 0;
  for (const count of buckets.values()) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
    seen += buckets.get(bucket)!;
    if (seen >= rank) return Math.round(bucketValueMs(bucket) * 10) / 10;
  }
  return null; // unreachable: seen reaches total
}
