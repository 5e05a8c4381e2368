import { bucketValueMs, LATENCY_BUCKETS, latencyBucket, quantileMs } from './latency-histogram.js';

describe('latency histogram', () => {
  it('puts every value in a bucket whose value is within 10% of it', () => {
    for (let ms = 1; ms < 600_000; ms *= 1.07) {
      const estimate = bucketValueMs(latencyBucket(ms));
      expect(Math.abs(estimate - ms) / ms).toBeLessThan(0.1);
    }
  });

  it('keeps sub-millisecond and huge values in the end buckets', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.9)).toBe(0);
    expect(latencyBucket(-1)).toBe(0);
    expect(latencyBucket(Number.NaN)).toBe(0);
    expect(latencyBucket(1e12)).toBe(LATENCY_BUCKETS - 1);
  });

  it('merges by adding counts: the quantiles of two halves merged equal those of the whole', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 997));
    const whole = new Map<number, number>();
    const halves = [new Map<number, number>(), new Map<number, number>()];
    values.forEach((v, i) => {
      const b = latencyBucket(v);
      whole.set(b, (whole.get(b) ?? 0) + 1);
      halves[i % 2].set(b, (halves[i % 2].get(b) ?? 0) + 1);
    });
    const merged = new Map(halves[0]);
    for (const [b, c] of halves[1]) merged.set(b, (merged.get(b) ?? 0) + c);
    expect(quantileMs(merged, 0.5)).toBe(quantileMs(whole, 0.5));
    expect(quantileMs(merged, 0.99)).toBe(quantileMs(whole, 0.99));
    const sorted = [...values].sort((a, b) => a - b);
    expect(Math.abs(quantileMs(whole, 0.99)! - sorted[989]) / sorted[989]).toBeLessThan(0.1);
    expect(Math.abs(quantileMs(whole, 0.5)! - sorted[499]) / sorted[499]).toBeLessThan(0.1);
  });

  it('answers null for an empty histogram', () => {
    expect(quantileMs(new Map(), 0.5)).toBeNull();
  });
});
