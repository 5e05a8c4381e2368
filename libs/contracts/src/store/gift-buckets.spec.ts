import calculateSlot from 'cluster-key-slot';
import { giftBuckets } from './gift-buckets.js';

describe('giftBuckets', () => {
  it('an unsplit gift is its own and only bucket', () => {
    expect(giftBuckets.ids('g1', 1)).toEqual(['g1']);
    expect(giftBuckets.forUser('g1', 1, 'u1')).toBe('g1');
    expect(giftBuckets.giftOf('g1')).toBe('g1');
    expect(giftBuckets.isBucket('g1')).toBe(false);
  });

  it.each([2, 3, 9, 64])('bucket i of %i lies in the i-th part of the slot space, so buckets spread over equal masters', (count) => {
    const ids = giftBuckets.ids('red-packet', count);
    expect(new Set(ids).size).toBe(count);
    ids.forEach((id, i) => {
      const slot = calculateSlot(`{g:${id}}`);
      expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16_384) / count));
      expect(slot).toBeLessThan(Math.floor(((i + 1) * 16_384) / count));
      expect(giftBuckets.giftOf(id)).toBe('red-packet');
      expect(giftBuckets.isBucket(id)).toBe(true);
    });
    // Three equal masters (what redis-cli --cluster create makes): 9 buckets, 3 on each.
    if (count === 9) expect(ids.map((id) => Math.floor(calculateSlot(`{g:${id}}`) / (16_384 / 3)))).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it('a user always claims in the same bucket, and users spread over all of them', () => {
    const ids = giftBuckets.ids('g1', 9);
    const seen = new Map<string, number>();
    for (let u = 0; u < 9_000; u++) {
      const bucket = giftBuckets.forUser('g1', 9, `user-${u}`);
      expect(giftBuckets.forUser('g1', 9, `user-${u}`)).toBe(bucket);
      seen.set(bucket, (seen.get(bucket) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    for (const n of seen.values()) expect(Math.abs(n - 1_000)).toBeLessThan(150);
  });

  it('shares add up to the total, the first ones one more', () => {
    expect([0, 1, 2].map((i) => giftBuckets.share(10, 3, i))).toEqual([4, 3, 3]);
    expect([0, 1, 2].map((i) => giftBuckets.share(2, 3, i))).toEqual([1, 1, 0]);
  });
});
