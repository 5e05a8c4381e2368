/** Buckets a user falls into: 0..9999, so a weight is set in steps of 0.01 %. */
export const USER_BUCKETS = 10_000;

/** The release label an instance runs when it says nothing else (`RELEASE` default). */
export const STABLE_RELEASE = 'stable';

/** `RELEASE`: 1-32 characters of `[A-Za-z0-9._-]`. */
export const RELEASE_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

/**
 * The bucket (0..9999) of a user in one rollout: FNV-1a over `salt + ":" + userId`, then the
 * murmur3 finaliser so that ids differing in their last characters spread over all buckets. Pure
 * and the same in every process (no seed, no state): two gateways put a user in the same bucket.
 * Cost: one pass over the characters, no allocation.
 */
export function userBucket(userId: string, salt: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x3a, 0x01000193);
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % USER_BUCKETS;
}

/**
 * Whether a user is on the canary at `weightPct` (0-100): bucket < weight x 100. The boundary only
 * moves up as the weight rises, so a user on the canary at w is on it at every weight above w, and
 * nobody flips back and forth while the weight is unchanged.
 */
export function isOnCanary(userId: string, salt: string, weightPct: number): boolean {
  if (weightPct <= 0) return false;
  if (weightPct >= 100) return true;
  return userBucket(userId, salt) < Math.round(weightPct * 100);
}
