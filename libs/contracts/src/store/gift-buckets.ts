import calculateSlot from 'cluster-key-slot';

/** Most buckets a gift may be split into. */
export const MAX_GIFT_BUCKETS = 64;
const CLUSTER_SLOTS = 16_384;
/** Separates a gift id from its bucket's number: never part of an id (see ID_PATTERN). */
const BUCKET_MARK = '~';
const MEMO_LIMIT = 10_000;
/** A stored gift id: a gift's id (see ID_PATTERN), or one of its buckets' (`<giftId>~<n>` or `<giftId>~<n>.<k>`). */
export const STORED_GIFT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}(~\d{1,2}(\.\d{1,6})?)?$/;
const memo = new Map<string, readonly string[]>();

/**
 * A hot gift's inventory split over buckets (a flash sale: one gift everybody wants at once).
 *
 * A bucket is stored as a gift of its own, `<giftId>~<n>` (ids never hold `~`): its hash, per-user
 * counts, day counts, ledger, orders, open orders and settlements all live in its own hash slot
 * (`{g:<giftId>~<n>}`), so a claim stays one single-slot script and N buckets spread the gift's
 * load over the cluster's masters. The bucket ids are chosen so that bucket i's slot lies in the
 * i-th N-th of the slot space: on a cluster whose masters hold equal ranges (what `redis-cli
 * --cluster create` makes), N buckets land on min(N, masters) masters, evenly.
 *
 * A user always claims in the bucket their id hashes to, where their per-gift counts live: the
 * per-user limit and TOO_MANY_UNCERTAIN stay exact. Each bucket holds a share of the inventory
 * (moved by the delivery app's rebalancer) and a fixed share of the daily limit.
 */
export const giftBuckets = {
  /** The bucket ids of a gift split into `count` buckets (`[giftId]` when `count` is 1). */
  ids(giftId: string, count: number): readonly string[] {
    if (count <= 1) return [giftId];
    const memoKey = `${count}|${giftId}`;
    let ids = memo.get(memoKey);
    if (!ids) {
      ids = Array.from({ length: count }, (_, i) => spreadId(giftId, i, count));
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(memoKey, ids);
    }
    return ids;
  },

  /** The bucket a user claims in (the gift itself when it has one bucket). */
  forUser(giftId: string, count: number, userId: string): string {
    if (count <= 1) return giftId;
    return giftBuckets.ids(giftId, count)[fnv1a(userId) % count];
  },

  /** The gift a stored gift id belongs to: itself, or the gift whose bucket it is. */
  giftOf(storedId: string): string {
    const mark = storedId.indexOf(BUCKET_MARK);
    return mark < 0 ? storedId : storedId.slice(0, mark);
  },

  isBucket(storedId: string): boolean {
    return storedId.includes(BUCKET_MARK);
  },

  /** Bucket i's share of a total split over `count` buckets (the first `total % count` get one more). */
  share(total: number, count: number, i: number): number {
    return Math.floor(total / count) + (i < total % count ? 1 : 0);
  },
};

/** `<giftId>~<i>`, or `<giftId>~<i>.<k>` with the least k whose slot lies in the i-th part of the slot space. */
function spreadId(giftId: string, i: number, count: number): string {
  const low = Math.floor((i * CLUSTER_SLOTS) / count);
  const high = Math.floor(((i + 1) * CLUSTER_SLOTS) / count);
  for (let k = 0; ; k++) {
    const id = `${giftId}${BUCKET_MARK}${i}${k === 0 ? '' : `.${k}`}`;
    const slot = calculateSlot(`{g:${id}}`);
    if (slot >= low && slot < high) return id;
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units: cheap, stable, and spreads user ids evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
