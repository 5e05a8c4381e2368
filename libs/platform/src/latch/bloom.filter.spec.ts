import { BloomFilter } from './bloom.filter.js';

describe('BloomFilter', () => {
  it('has every added item (no false negatives), also after a JSON round trip', () => {
    const items = Array.from({ length: 5_000 }, (_, i) => `order-${i}`);
    const filter = BloomFilter.of(items);
    const copy = BloomFilter.fromJSON(JSON.parse(JSON.stringify(filter)));
    for (const item of items) {
      expect(filter.has(item)).toBe(true);
      expect(copy.has(item)).toBe(true);
    }
  });

  it('answers about the false-positive rate it was sized for, on keys that look alike', () => {
    const filter = BloomFilter.of(Array.from({ length: 10_000 }, (_, i) => `o:${i}`), 0.01);
    let hits = 0;
    const probes = 50_000;
    for (let i = 0; i < probes; i++) if (filter.has(`o:${100_000 + i}`)) hits++;
    expect(hits / probes).toBeLessThan(0.02);
    expect(hits).toBeGreaterThan(0); // sized for 1%, not a set: some false positives show up
  });

  it('is sized by the usual formulas and stays small', () => {
    const filter = BloomFilter.forCapacity(1_000, 0.01);
    expect(filter.bits).toBe(9_592); // ceil(-1000 ln 0.01 / ln2^2) = 9,586, rounded up to bytes
    expect(filter.hashes).toBe(7);
    expect(BloomFilter.forCapacity(0).bits).toBe(64);
    // A floor makes a small set practically exact: 20 items in 8,192 bits, 16 hashes.
    const small = BloomFilter.of(Array.from({ length: 20 }, (_, i) => `u:${i}`), 0.001, 8_192);
    expect([small.bits, small.hashes]).toEqual([8_192, 16]);
    expect(Array.from({ length: 100_000 }, (_, i) => small.has(`u:${1_000 + i}`)).filter(Boolean)).toEqual([]);
    expect(JSON.stringify(BloomFilter.forCapacity(100_000)).length).toBeLessThan(170_000);
  });

  it('an empty filter has nothing', () => {
    const filter = BloomFilter.of([]);
    expect(filter.has('')).toBe(false);
    expect(filter.has('anything')).toBe(false);
  });

  it.each([
    null, {}, { bits: 64, hashes: 7 }, { bits: 64, hashes: 7, data: 'AAAA' }, { bits: 63, hashes: 7, data: 'AAAAAAAAAAA=' },
    { bits: 64, hashes: 0, data: 'AAAAAAAAAAA=' },
  ])('refuses a malformed value %j', (value) => {
    expect(() => BloomFilter.fromJSON(value)).toThrow('malformed Bloom filter');
  });
});
