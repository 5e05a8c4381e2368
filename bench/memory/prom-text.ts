/** Samples of one metric in a Prometheus text answer: labels as written, value. */
export function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  const out: Array<{ labels: string; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue; // another metric whose name starts the same
    const labels = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

/** The sum of a metric's samples, or undefined when the metric is absent. */
export function total(text: string, name: string): number | undefined {
  const found = samples(text, name);
  return found.length ? found.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/**
 * A quantile (0-1) of a histogram from its cumulative `_bucket` counts (summed over label sets), by
 * linear interpolation inside the bucket as Prometheus' histogram_quantile does. Undefined when the
 * histogram is absent or empty; the largest finite bound when the quantile falls in `+Inf`.
 */
export function histogramQuantile(text: string, name: string, q: number): number | undefined {
  const byBound = new Map<number, number>();
  for (const s of samples(text, `${name}_bucket`)) {
    const le = /le="([^"]+)"/.exec(s.labels)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
  }
  const buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0]);
  const count = buckets.at(-1)?.[1] ?? 0;
  if (!count) return undefined;
  const rank = q * count;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return prevBound;
      const inBucket = cumulative - prevCount;
      return inBucket ? prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket : bound;
    }
    prevBound = bound;
    prevCount = cumulative;
  }
  return prevBound;
}
