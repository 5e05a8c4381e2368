import type { ActivityConfig, GiftConfig } from './activity-config.js';

/** One field's value before and after a publish. */
export interface FieldChange {
  before: unknown;
  after: unknown;
}

/** What publishing a configuration would change (`PUT /admin/activities/{id}?dryRun=true`). */
export interface ActivityChanges {
  /** True when no activity of that id is stored yet. */
  created: boolean;
  /** Changed activity fields (`name`, `startsAt`, `endsAt`, `successObjective`: null when none), by name. */
  activity: Record<string, FieldChange>;
  gifts: {
    added: GiftConfig[];
    /** Changed gift fields by name (`provider.url` for nested ones); `dailyLimit` is null when none. */
    changed: Array<{ giftId: string; fields: Record<string, FieldChange> }>;
    /** Gifts left out of the new configuration: they are closed (stay readable, cannot be claimed). */
    removed: GiftConfig[];
    unchanged: string[];
  };
}

/** A gift's comparable fields, flat; times and absent limits normalised so equal configs compare equal. */
function flatGift(gift: GiftConfig): Record<string, unknown> {
  return {
    name: gift.name,
    inventory: gift.inventory,
    dailyLimit: gift.dailyLimit ?? null,
    perUserLimit: gift.perUserLimit,
    delivery: gift.delivery,
    'provider.url': gift.provider.url,
    'provider.orderNumbers': gift.provider.orderNumbers,
    buckets: gift.buckets ?? 1,
  };
}

const iso = (time: string): string => new Date(Date.parse(time)).toISOString();

function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, FieldChange> {
  const out: Record<string, FieldChange> = {};
  for (const key of Object.keys(after)) if (before[key] !== after[key]) out[key] = { before: before[key], after: after[key] };
  return out;
}

/**
 * The difference between the stored configuration (`before`, undefined when none) and a new one.
 * Pure: the caller reads what is stored. Gifts keep the order of the new configuration (then of the
 * stored one for removed gifts).
 */
export function diffActivityConfig(before: ActivityConfig | undefined, after: ActivityConfig): ActivityChanges {
  // successObjective is optional: compared (null when unset) only where either side has one.
  const withObjective = before?.successObjective !== undefined || after.successObjective !== undefined;
  const activityOf = (c: ActivityConfig | undefined) =>
    c ? { name: c.name, startsAt: iso(c.startsAt), endsAt: iso(c.endsAt), ...(withObjective ? { successObjective: c.successObjective ?? null } : {}) } : {};
  const stored = new Map((before?.gifts ?? []).map((g) => [g.giftId, g]));
  const changes: ActivityChanges = {
    created: before === undefined,
    activity: changedFields(activityOf(before), activityOf(after)),
    gifts: { added: [], changed: [], removed: [], unchanged: [] },
  };
  for (const gift of after.gifts) {
    const old = stored.get(gift.giftId);
    if (!old) {
      changes.gifts.added.push(gift);
      continue;
    }
    const fields = changedFields(flatGift(old), flatGift(gift));
    if (Object.keys(fields).length) changes.gifts.changed.push({ giftId: gift.giftId, fields });
    else changes.gifts.unchanged.push(gift.giftId);
  }
  const kept = new Set(after.gifts.map((g) => g.giftId));
  changes.gifts.removed = (before?.gifts ?? []).filter((g) => !kept.has(g.giftId));
  return changes;
}
