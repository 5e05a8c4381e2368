import { z } from 'zod';
import type { ErrorDetail } from '../errors/wire-error.js';
import { MAX_GIFT_BUCKETS } from '../store/gift-buckets.js';

/** Ids of activities, gifts, users and orders: what may appear in a Redis key and a URL path. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Most gifts one activity may carry (bounds the publish script and the overview). */
export const MAX_GIFTS_PER_ACTIVITY = 100;
/** Largest inventory a gift may hold. */
export const MAX_INVENTORY = 1_000_000_000;

const id = z.string().regex(ID_PATTERN, 'must be 1-128 characters of [A-Za-z0-9_-]');
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time' });
const count = (min: number) => z.number().int('must be an integer').min(min).max(MAX_INVENTORY);

const providerSchema = z.strictObject({
  url: z
    .string()
    .max(2048)
    .refine((value) => /^https?:\/\/[^\s/]+/.test(value) && URL.canParse(value), 'must be an http(s) URL'),
  /** Whether the provider treats a repeated orderId as the same delivery (safe to re-send). Default false. */
  orderNumbers: z.boolean().default(false),
});

const giftSchema = z.strictObject({
  giftId: id,
  name: z.string().min(1).max(200),
  inventory: count(0),
  /** Most claims per UTC day. Default: the inventory (no daily limit). */
  dailyLimit: count(1).optional(),
  /** Most claims per user. Default 1. */
  perUserLimit: count(1).default(1),
  delivery: z.enum(['sync', 'async']).default('sync'),
  provider: providerSchema,
  /**
   * A hot gift's inventory split over this many buckets on different Redis slots (default 1: not
   * split). Fixed once the gift is published.
   */
  buckets: z.number().int('must be an integer').min(1).max(MAX_GIFT_BUCKETS).optional().meta({
    description: `Split a hot gift over 2-${MAX_GIFT_BUCKETS} Redis slots (its inventory and daily limit are shared out, and stock is moved between the buckets as they empty); fixed once published. Default 1.`,
  }),
});

export const activityConfigSchema = z.strictObject({
  name: z.string().min(1).max(200),
  startsAt: isoTime,
  endsAt: isoTime,
  /**
   * Share of settled deliveries that must succeed (delivered ÷ delivered + failed + uncertain): the
   * analyzers' burn-rate alerts for this activity measure against it. Default: ANALYZER_OBJECTIVE.
   */
  successObjective: z.number().min(0.5).max(0.99999).optional().meta({ description: 'Delivery success objective of the burn-rate alerts (0.5-0.99999); default the analyzer\'s ANALYZER_OBJECTIVE (0.995).' }),
  gifts: z.array(giftSchema).min(1).max(MAX_GIFTS_PER_ACTIVITY),
});

/** A published activity's configuration (defaults applied). */
export type ActivityConfig = z.output<typeof activityConfigSchema>;
export type GiftConfig = ActivityConfig['gifts'][number];

export type ActivityConfigCheck =
  | { kind: 'ok'; config: ActivityConfig }
  /** Fields the schema does not know: a 400, as for any request body. */
  | { kind: 'unknown-fields'; details: ErrorDetail[] }
  /** Every violation of the configuration rules: a 422 INVALID_CONFIG. */
  | { kind: 'invalid'; details: ErrorDetail[] };

const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );

/**
 * Checks an activity configuration on its own (no storage): shape, then the rules between fields.
 * Every violation is listed, not only the first. Storage rules (a giftId owned by another activity,
 * inventory below what is reserved) are checked by the delivery service.
 */
export function checkActivityConfig(body: unknown): ActivityConfigCheck {
  const parsed = activityConfigSchema.safeParse(body);
  const unknown: ErrorDetail[] = [];
  const details: ErrorDetail[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) unknown.push({ path: pathOf([...issue.path, key]), message: 'unknown field' });
      } else {
        details.push({ path: pathOf(issue.path), message: issue.message });
      }
    }
  }
  if (unknown.length) return { kind: 'unknown-fields', details: unknown };
  details.push(...crossFieldViolations(body as Record<string, unknown>));
  if (details.length || !parsed.success) return { kind: 'invalid', details };
  return { kind: 'ok', config: parsed.data };
}

/** Rules between fields, evaluated on whatever parts have the right types. */
function crossFieldViolations(body: Record<string, unknown>): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (typeof body !== 'object' || body === null) return out;
  const starts = typeof body.startsAt === 'string' ? Date.parse(body.startsAt) : NaN;
  const ends = typeof body.endsAt === 'string' ? Date.parse(body.endsAt) : NaN;
  if (Number.isFinite(starts) && Number.isFinite(ends) && ends <= starts) {
    out.push({ path: 'endsAt', message: 'must be after startsAt' });
  }
  if (!Array.isArray(body.gifts)) return out;
  const seen = new Map<string, number>();
  body.gifts.forEach((raw: unknown, index: number) => {
    if (typeof raw !== 'object' || raw === null) return;
    const gift = raw as Record<string, unknown>;
    if (typeof gift.giftId === 'string') {
      const first = seen.get(gift.giftId);
      if (first !== undefined) {
        out.push({ path: `gifts[${index}].giftId`, message: `duplicate giftId "${gift.giftId}" (also gifts[${first}])` });
      } else seen.set(gift.giftId, index);
    }
    if (typeof gift.dailyLimit === 'number' && typeof gift.inventory === 'number' && gift.dailyLimit > gift.inventory) {
      out.push({ path: `gifts[${index}].dailyLimit`, message: `must not exceed inventory (${gift.inventory})` });
    }
    if (typeof gift.dailyLimit === 'number' && typeof gift.buckets === 'number' && gift.dailyLimit < gift.buckets) {
      out.push({ path: `gifts[${index}].dailyLimit`, message: `must be at least the number of buckets (${gift.buckets}): each bucket holds a share of it` });
    }
  });
  return out;
}
