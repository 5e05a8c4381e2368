import calculateSlot from 'cluster-key-slot';
import { RedisKeys } from '@app/contracts';
import { bitOffsets, CLUSTER_SLOTS, RETIRED_NUMBER_HASHES, RetiredNumbers, slotTags } from './retired-numbers.js';

describe('RetiredNumbers (the retired-number filter\'s geometry)', () => {
  const keys = new RedisKeys('rp');

  it('has a hash tag in every cluster slot, each in its own slot', () => {
    const tags = slotTags();
    expect(tags).toHaveLength(CLUSTER_SLOTS);
    expect(new Set(tags).size).toBe(CLUSTER_SLOTS);
    tags.forEach((tag, slot) => expect(calculateSlot(keys.retiredNumbers(tag))).toBe(slot));
  });

  it('puts a number\'s shard (and the one under rebuild) in its binding\'s slot, whatever the number', () => {
    const numbers = new RetiredNumbers(keys);
    numbers.useSize(256);
    for (const orderId of ['1', '12345678901', 'a'.repeat(128), 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 'x_y-Z']) {
      const bits = numbers.of(orderId);
      const slot = calculateSlot(keys.orderBinding(orderId));
      expect(calculateSlot(bits.shard)).toBe(slot);
      expect(calculateSlot(bits.next)).toBe(slot);
      expect(bits.slotBytes).toBe(256);
    }
  });

  it('gives k offsets inside the shard, the same for a number on every instance, different across numbers', () => {
    const a = bitOffsets('12345', 2048);
    expect(a).toHaveLength(RETIRED_NUMBER_HASHES);
    expect(a.every((o) => Number.isInteger(o) && o >= 0 && o < 2048)).toBe(true);
    expect(bitOffsets('12345', 2048)).toEqual(a);
    expect(bitOffsets('12346', 2048)).not.toEqual(a);
  });

  it('gives no offsets and size 0 while the filter\'s size is not known (the bind answers unknown)', () => {
    const bits = new RetiredNumbers(keys).of('12345');
    expect(bits.slotBytes).toBe(0);
    expect(bits.offsets).toEqual([]);
  });

  it('keeps false positives near the Bloom bound at 9.6 bits per number', () => {
    // One shard of 1,200 bytes (9,600 bits) holding 1,000 numbers: about 1% of other numbers look retired.
    const bits = 9_600;
    const set = new Uint8Array(bits);
    for (let i = 0; i < 1_000; i++) for (const o of bitOffsets(`in-${i}`, bits)) set[o] = 1;
    let positives = 0;
    const trials = 20_000;
    for (let i = 0; i < trials; i++) if (bitOffsets(`out-${i}`, bits).every((o) => set[o] === 1)) positives += 1;
    expect(positives / trials).toBeLessThan(0.02);
  });
});
