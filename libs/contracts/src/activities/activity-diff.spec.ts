import type { ActivityConfig } from './activity-config.js';
import { diffActivityConfig } from './activity-diff.js';

const gift = (giftId: string, extra: Partial<ActivityConfig['gifts'][number]> = {}): ActivityConfig['gifts'][number] => ({
  giftId, name: 'Skin', inventory: 10, perUserLimit: 1, delivery: 'sync', provider: { url: 'http://p:1', orderNumbers: true }, ...extra,
});
const config = (gifts: ActivityConfig['gifts'], extra: Partial<ActivityConfig> = {}): ActivityConfig => ({
  name: 'Spring', startsAt: '2026-01-01T00:00:00Z', endsAt: '2027-01-01T00:00:00Z', gifts, ...extra,
});

describe('diffActivityConfig', () => {
  it('lists everything as added for a new activity', () => {
    const after = config([gift('g1'), gift('g2')]);
    const diff = diffActivityConfig(undefined, after);
    expect(diff.created).toBe(true);
    expect(diff.activity).toEqual({
      name: { before: undefined, after: 'Spring' },
      startsAt: { before: undefined, after: '2026-01-01T00:00:00.000Z' },
      endsAt: { before: undefined, after: '2027-01-01T00:00:00.000Z' },
    });
    expect(diff.gifts).toEqual({ added: after.gifts, changed: [], removed: [], unchanged: [] });
  });

  it('finds nothing when only the spelling of a time differs', () => {
    const before = config([gift('g1')], { startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2027-01-01T01:00:00+01:00' });
    const diff = diffActivityConfig(before, config([gift('g1')]));
    expect(diff).toEqual({ created: false, activity: {}, gifts: { added: [], changed: [], removed: [], unchanged: ['g1'] } });
  });

  it('shows the success objective only where either side sets it, null when unset', () => {
    const plain = config([gift('g1')]);
    expect(diffActivityConfig(plain, plain).activity).toEqual({});
    expect(diffActivityConfig(plain, config([gift('g1')], { successObjective: 0.99 })).activity).toEqual({ successObjective: { before: null, after: 0.99 } });
    expect(diffActivityConfig(config([gift('g1')], { successObjective: 0.99 }), plain).activity).toEqual({ successObjective: { before: 0.99, after: null } });
  });

  it('names changed activity and gift fields with before and after, and added and removed gifts', () => {
    const before = config([gift('g1'), gift('g2', { dailyLimit: 5 }), gift('g3')]);
    const after = config(
      [gift('g1', { inventory: 20, provider: { url: 'http://q:2', orderNumbers: true } }), gift('g2'), gift('g4', { delivery: 'async' })],
      { name: 'Summer', endsAt: '2027-06-01T00:00:00Z' },
    );
    const diff = diffActivityConfig(before, after);
    expect(diff.created).toBe(false);
    expect(diff.activity).toEqual({
      name: { before: 'Spring', after: 'Summer' },
      endsAt: { before: '2027-01-01T00:00:00.000Z', after: '2027-06-01T00:00:00.000Z' },
    });
    expect(diff.gifts.changed).toEqual([
      { giftId: 'g1', fields: { inventory: { before: 10, after: 20 }, 'provider.url': { before: 'http://p:1', after: 'http://q:2' } } },
      { giftId: 'g2', fields: { dailyLimit: { before: 5, after: null } } },
    ]);
    expect(diff.gifts.added.map((g) => g.giftId)).toEqual(['g4']);
    expect(diff.gifts.removed.map((g) => g.giftId)).toEqual(['g3']);
    expect(diff.gifts.unchanged).toEqual([]);
  });
});
