import { maxTotalBackoffMs, retryBackoffMs } from './retry-backoff.js';

describe('retryBackoffMs', () => {
  const opts = { baseMs: 2_000, maxMs: 300_000 };

  it('doubles per attempt between half and all of the ceiling', () => {
    expect(retryBackoffMs(1, opts, () => 0)).toBe(1_000);
    expect(retryBackoffMs(1, opts, () => 1)).toBe(2_000);
    expect(retryBackoffMs(2, opts, () => 1)).toBe(4_000);
    expect(retryBackoffMs(4, opts, () => 0.5)).toBe(12_000);
  });

  it('is capped at maxMs however many attempts were made', () => {
    expect(retryBackoffMs(12, opts, () => 1)).toBe(300_000);
    expect(retryBackoffMs(1_000, opts, () => 1)).toBe(300_000);
    expect(retryBackoffMs(1_000, opts, () => 0)).toBe(150_000);
  });

  it('keeps the default schedule within 30 minutes', () => {
    // 12 attempts, 2 s base, 5 min cap: the last retry starts at most ~24 min after the first try.
    expect(maxTotalBackoffMs(12, opts)).toBeLessThan(30 * 60_000);
    expect(maxTotalBackoffMs(12, opts)).toBeGreaterThan(20 * 60_000);
  });
});
