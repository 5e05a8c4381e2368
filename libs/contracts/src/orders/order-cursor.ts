import { z } from 'zod';
import { ID_PATTERN } from '../activities/activity-config.js';
import { STORED_GIFT_ID_PATTERN } from '../store/gift-buckets.js';

/**
 * Where the operators' order listing (`GET /admin/orders`) stopped: the last order it looked at,
 * as the position in an index sorted by creation time (newest first, ties by order id, descending).
 * - `m: 'g'`: walking gifts in id order (the gifts set), `g` the gift, then its orders index (or
 *   its uncertain index for `status=uncertain`);
 * - `m: 'u'`: walking one user's order index (`userId=` given).
 * The next page starts strictly after this position, so orders created meanwhile never shift a page.
 */
export interface OrderCursor {
  m: 'g' | 'u';
  /** The gift being walked (mode `g`). */
  g?: string;
  /** Creation time (ms) of the last order looked at. */
  s: number;
  /** Id of the last order looked at. */
  o: string;
  /**
   * Set once the listing walks the archive (PostgreSQL: orders retention removed from Redis), after
   * every Redis index: then `s`/`o` are the position in the archive's (created_at, order_id) order, and
   * `g` (mode `g`) is the gift filter or `_` for all gifts.
   */
  a?: true;
}

const id = z.string().regex(ID_PATTERN);
/** A gift, or a bucket of a split gift (see `giftBuckets`): where a gift walk stopped. */
const storedGiftId = z.string().regex(STORED_GIFT_ID_PATTERN);
const cursorSchema = z.strictObject({
  m: z.enum(['g', 'u']),
  g: storedGiftId.optional(),
  s: z.number().int().min(0).max(8.64e15),
  o: id,
  a: z.literal(true).optional(),
}).refine((c) => (c.m === 'g') === (c.g !== undefined), 'a gift cursor names its gift, a user cursor none');

/** The cursor as an opaque URL-safe string. */
export function encodeOrderCursor(cursor: OrderCursor): string {
  const plain: OrderCursor = { m: cursor.m, ...(cursor.g !== undefined ? { g: cursor.g } : {}), s: cursor.s, o: cursor.o, ...(cursor.a ? { a: true as const } : {}) };
  return Buffer.from(JSON.stringify(plain), 'utf8').toString('base64url');
}

/** The cursor a string holds, or undefined when it is not one this codec made (a 400 at the edge). */
export function decodeOrderCursor(text: string): OrderCursor | undefined {
  if (text.length === 0 || text.length > 512 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = cursorSchema.safeParse(value);
  return parsed.success ? (parsed.data as OrderCursor) : undefined;
}

/**
 * True when the index entry (`score`, `member`) comes strictly after `cursor` in the listing's order
 * (creation time descending, then order id descending, as Redis's ZREVRANGEBYSCORE returns ties).
 */
export function isAfterCursor(cursor: Pick<OrderCursor, 's' | 'o'> | undefined, score: number, member: string): boolean {
  if (!cursor) return true;
  return score < cursor.s || (score === cursor.s && member < cursor.o);
}
