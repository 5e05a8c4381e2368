import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { RedisKeys } from '@app/contracts';

/** Redis Cluster's hash slots: the filter has one shard per slot. */
export const CLUSTER_SLOTS = 16_384;
/** Bits set per number (k of the Bloom filter). */
export const RETIRED_NUMBER_HASHES = 7;

let tagsBySlot: string[] | undefined;

/**
 * A hash tag for every cluster slot (`rn:<base36>`, the first found for each slot, so every instance
 * derives the same table): a key named with `tagsBySlot()[s]` lives in slot `s`.
 */
export function slotTags(): readonly string[] {
  if (tagsBySlot) return tagsBySlot;
  const tags = new Array<string>(CLUSTER_SLOTS);
  let missing = CLUSTER_SLOTS;
  for (let i = 0; missing > 0; i++) {
    const tag = `rn:${i.toString(36)}`;
    const slot = calculateSlot(tag);
    if (tags[slot] === undefined) {
      tags[slot] = tag;
      missing -= 1;
    }
  }
  tagsBySlot = tags;
  return tags;
}

/** Where one order number's bits are: the shard of its binding's slot, and the bit offsets in it. */
export interface RetiredNumberBits {
  /** The shard (in the binding's slot). */
  shard: string;
  /** The same slot's shard under rebuild. */
  next: string;
  /**
   * Bytes of a complete shard: a shard of another length is not used (0: the size is not known yet;
   * -1: no archive, so nothing is ever retired).
   */
  slotBytes: number;
  offsets: number[];
}

/**
 * The retired-number filter's geometry: a Bloom filter of the order numbers retention removed from
 * Redis, split into one fixed-size shard per cluster slot so that the bind script reads a number's
 * bits in the same slot (and the same atomic step) as its binding. A number whose bits are not all
 * set was never retired, so a claim need not ask PostgreSQL about it; "all set" means maybe (false
 * positives: about 1% at 9.6 bits per number, more as the filter fills).
 *
 * The shard size is the deployment's, fixed when the filter is first built (`RETIRED_FILTER_SLOT_BYTES`
 * then) and read back from the ready marker by every instance (`useSize`): instances configured
 * differently still agree on every bit. Until an instance knows it, its binds answer `unknown`.
 */
export class RetiredNumbers {
  private slotBytes = 0;

  constructor(
    private readonly keys: RedisKeys,
    /** False without an archive (no DATABASE_URL): retention never runs, every number is new. */
    private readonly archived = true,
  ) {}

  /** The filter's shard size in bytes (from its ready marker), 0 while unknown. */
  get size(): number {
    return this.slotBytes;
  }

  useSize(slotBytes: number): void {
    this.slotBytes = slotBytes;
  }

  of(orderId: string): RetiredNumberBits {
    if (!this.archived) return { ...this.shards(orderId), slotBytes: -1, offsets: [] };
    return { ...this.shards(orderId), slotBytes: this.slotBytes, offsets: bitOffsets(orderId, this.slotBytes * 8) };
  }

  /** The shard (and the one under rebuild) of the number's binding's slot. */
  shards(orderId: string): { shard: string; next: string } {
    const tag = slotTags()[calculateSlot(this.keys.orderBinding(orderId))];
    return { shard: this.keys.retiredNumbers(tag), next: this.keys.retiredNumbersNext(tag) };
  }
}

/**
 * The k bit offsets of a number in a shard of `bits` bits: double hashing (Kirsch-Mitzenmacher) from
 * one SHA-256, independent of the slot's CRC16. None while the size is unknown.
 */
export function bitOffsets(orderId: string, bits: number): number[] {
  if (bits <= 0) return [];
  const digest = createHash('sha256').update(orderId).digest();
  const h1 = digest.readUInt32BE(0);
  const h2 = (digest.readUInt32BE(4) | 1) >>> 0; // odd, unsigned
  const offsets: number[] = [];
  for (let i = 0; i < RETIRED_NUMBER_HASHES; i++) offsets.push((h1 + i * h2) % bits);
  return offsets;
}
