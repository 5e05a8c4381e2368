import { BloomFilter } from './bloom.filter.js';

/**
 * A sold-out gift's latch, as the delivery service stores it (`{g:<giftId>}:sold-out`) and every
 * gateway holds it: when the gift sold out no new order could be created for it any more, so the
 * set of its order keys and of its users was final; `members` holds both (`o:<orderId>`,
 * `u:<userId>`). A claim whose key and user are both certainly not members is a new order of a
 * new user for a sold-out gift: 409 SOLD_OUT, with no Redis round trip. Anything else (a repeat,
 * a user who holds orders of the gift and may be owed USER_LIMIT_REACHED or TOO_MANY_UNCERTAIN,
 * a false positive) takes the normal path.
 */
export interface SoldOutLatchRecord {
  giftId: string;
  /** The gift's latch sequence number when it sold out; a newer sell-out has a higher one. */
  seq: number;
  /** The gift's claim window (NOT_ACTIVE comes before SOLD_OUT: outside it the latch does not answer). */
  startsAtMs: number;
  endsAtMs: number;
  members: BloomFilter;
}

/** Members of the latch's filter. */
export const latchMember = {
  order: (orderId: string): string => `o:${orderId}`,
  user: (userId: string): string => `u:${userId}`,
};

export function encodeSoldOutLatch(record: SoldOutLatchRecord): string {
  const { giftId, seq, startsAtMs, endsAtMs, members } = record;
  return JSON.stringify({ v: 1, giftId, seq, startsAtMs, endsAtMs, members: members.toJSON() });
}

/** Reads a stored latch; throws on anything malformed (the caller then keeps the normal path). */
export function decodeSoldOutLatch(raw: string): SoldOutLatchRecord {
  const v = JSON.parse(raw) as Record<string, unknown>;
  const numbers = [v.seq, v.startsAtMs, v.endsAtMs];
  if (v.v !== 1 || typeof v.giftId !== 'string' || numbers.some((n) => typeof n !== 'number' || !Number.isFinite(n))) {
    throw new Error('malformed sold-out latch');
  }
  return {
    giftId: v.giftId,
    seq: v.seq as number,
    startsAtMs: v.startsAtMs as number,
    endsAtMs: v.endsAtMs as number,
    members: BloomFilter.fromJSON(v.members),
  };
}

/**
 * True when the latch answers SOLD_OUT for this claim by itself: inside the gift's window, and
 * neither the order key nor the user is (possibly) a member. `isPaused`: the gift's pause flag
 * (NOT_ACTIVE, which comes first).
 */
export function latchRefuses(record: SoldOutLatchRecord, claim: { orderId: string; userId: string; nowMs: number; isPaused: boolean }): boolean {
  if (claim.isPaused || claim.nowMs < record.startsAtMs || claim.nowMs >= record.endsAtMs) return false;
  return !record.members.has(latchMember.order(claim.orderId)) && !record.members.has(latchMember.user(claim.userId));
}
