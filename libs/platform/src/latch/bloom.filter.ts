/**
 * A Bloom filter of strings: `has` never says no for an added item, and says yes for an item never
 * added with about the false-positive rate it was sized for. Small and dependency-free: it only
 * carries a sold-out gift's order keys and users from the delivery service to every gateway, once
 * per sell-out, and a false positive only costs the normal (Redis) path.
 *
 * Hashing: 32-bit FNV-1a of the UTF-16 code units with two seeds, combined as
 * `h1 + i * h2` (Kirsch-Mitzenmacher double hashing) for the k bit positions.
 */
export class BloomFilter {
  private constructor(
    /** Number of bits. */
    readonly bits: number,
    /** Number of hash functions. */
    readonly hashes: number,
    private readonly words: Uint8Array,
  ) {}

  /**
   * An empty filter sized for `expected` items at `falsePositiveRate` (0-1, default 0.01):
   * m = -n ln p / (ln 2)^2 bits, at least `minBits` (default 64), k = round(m / n ln 2) hashes (1-16).
   * A larger floor makes a small set practically exact for a few bytes.
   */
  static forCapacity(expected: number, falsePositiveRate = 0.01, minBits = 64): BloomFilter {
    const n = Math.max(1, expected);
    const bits = Math.max(minBits, Math.ceil((-n * Math.log(falsePositiveRate)) / Math.LN2 ** 2));
    const rounded = Math.ceil(bits / 8) * 8;
    const hashes = Math.min(16, Math.max(1, Math.round((rounded / n) * Math.LN2)));
    return new BloomFilter(rounded, hashes, new Uint8Array(rounded / 8));
  }

  /** A filter of `items`, sized for them (see {@link forCapacity}). */
  static of(items: Iterable<string>, falsePositiveRate = 0.01, minBits = 64): BloomFilter {
    const list = [...items];
    const filter = BloomFilter.forCapacity(list.length, falsePositiveRate, minBits);
    for (const item of list) filter.add(item);
    return filter;
  }

  /** Rebuilds a filter from {@link toJSON}; throws on a malformed value. */
  static fromJSON(value: unknown): BloomFilter {
    const v = value as { bits?: unknown; hashes?: unknown; data?: unknown } | null;
    if (!v || !Number.isInteger(v.bits) || !Number.isInteger(v.hashes) || typeof v.data !== 'string') throw new Error('malformed Bloom filter');
    const bits = v.bits as number;
    const hashes = v.hashes as number;
    const words = new Uint8Array(Buffer.from(v.data, 'base64'));
    if (bits < 8 || bits % 8 !== 0 || words.length !== bits / 8 || hashes < 1 || hashes > 16) throw new Error('malformed Bloom filter');
    return new BloomFilter(bits, hashes, words);
  }

  add(item: string): void {
    this.forEachPosition(item, (bit) => {
      this.words[bit >>> 3] |= 1 << (bit & 7);
      return true;
    });
  }

  /** False: certainly never added. True: added, or a false positive. */
  has(item: string): boolean {
    return this.forEachPosition(item, (bit) => (this.words[bit >>> 3] & (1 << (bit & 7))) !== 0);
  }

  toJSON(): { bits: number; hashes: number; data: string } {
    return { bits: this.bits, hashes: this.hashes, data: Buffer.from(this.words).toString('base64') };
  }

  /** Calls `visit` for each of the item's k bit positions while it returns true; true if it always did. */
  private forEachPosition(item: string, visit: (bit: number) => boolean): boolean {
    const h1 = fnv1a(item, 0x811c9dc5);
    const h2 = fnv1a(item, 0x01000193) | 1; // odd: the k positions differ whenever bits is a power of two too
    for (let i = 0; i < this.hashes; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % this.bits;
      if (!visit(bit)) return false;
    }
    return true;
  }
}

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // Final avalanche (murmur3's fmix32): FNV alone spreads short, similar keys poorly over the low bits.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
