import { BloomFilter } from './bloom.filter.js';
import { decodeSoldOutLatch, encodeSoldOutLatch, latchMember, latchRefuses, type SoldOutLatchRecord } from './sold-out-latch.record.js';

describe('sold-out latch record', () => {
  const record: SoldOutLatchRecord = {
    giftId: 'g1', seq: 3, startsAtMs: 1_000, endsAtMs: 9_000,
    members: BloomFilter.of([latchMember.order('o1'), latchMember.user('u1'), latchMember.order('o2'), latchMember.user('u2')]),
  };
  const claim = (orderId: string, userId: string, extra: Partial<{ nowMs: number; isPaused: boolean }> = {}) => ({ orderId, userId, nowMs: 5_000, isPaused: false, ...extra });

  it('refuses a new key of a new user inside the window', () => {
    expect(latchRefuses(record, claim('new-key', 'new-user'))).toBe(true);
  });

  it('lets a repeat of an order key through, whoever sends it (the normal path answers it)', () => {
    expect(latchRefuses(record, claim('o1', 'u1'))).toBe(false);
    expect(latchRefuses(record, claim('o2', 'new-user'))).toBe(false);
  });

  it('lets a new key of a user who holds orders of the gift through (USER_LIMIT_REACHED comes before SOLD_OUT)', () => {
    expect(latchRefuses(record, claim('new-key', 'u2'))).toBe(false);
  });

  it('does not answer outside the window or while the gift is paused (NOT_ACTIVE comes first)', () => {
    expect(latchRefuses(record, claim('k', 'n', { nowMs: 999 }))).toBe(false);
    expect(latchRefuses(record, claim('k', 'n', { nowMs: 9_000 }))).toBe(false);
    expect(latchRefuses(record, claim('k', 'n', { nowMs: 8_999 }))).toBe(true);
    expect(latchRefuses(record, claim('k', 'n', { isPaused: true }))).toBe(false);
  });

  it('round-trips through its stored form', () => {
    const copy = decodeSoldOutLatch(encodeSoldOutLatch(record));
    expect({ ...copy, members: undefined }).toEqual({ ...record, members: undefined });
    expect(latchRefuses(copy, claim('o1', 'x'))).toBe(false);
    expect(latchRefuses(copy, claim('x', 'y'))).toBe(true);
  });

  it.each(['not json', '{}', '{"v":2}', '{"v":1,"giftId":"g","seq":"1","startsAtMs":0,"endsAtMs":1,"members":{}}'])('refuses malformed %s', (raw) => {
    expect(() => decodeSoldOutLatch(raw)).toThrow();
  });
});
