import { decodeOrderCursor, encodeOrderCursor, isAfterCursor } from './order-cursor.js';

describe('order cursor', () => {
  it('round-trips gift and user cursors as opaque URL-safe text', () => {
    for (const cursor of [{ m: 'g' as const, g: 'gift-1', s: 1_700_000_000_123, o: 'order_9' }, { m: 'u' as const, s: 0, o: '42' }]) {
      const text = encodeOrderCursor(cursor);
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeOrderCursor(text)).toEqual(cursor);
    }
  });

  it('refuses anything it did not make', () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of [
      '', 'not a cursor!', 'x'.repeat(600), 'e30', // {}
      enc({ m: 'g', s: 1, o: 'o1' }), // gift mode without a gift
      enc({ m: 'u', g: 'g1', s: 1, o: 'o1' }), // user mode with a gift
      enc({ m: 'g', g: 'g1', s: -1, o: 'o1' }),
      enc({ m: 'g', g: 'g1', s: 1.5, o: 'o1' }),
      enc({ m: 'g', g: 'g 1', s: 1, o: 'o1' }),
      enc({ m: 'g', g: 'g1', s: 1, o: 'o1', extra: 1 }),
      enc({ m: 'x', s: 1, o: 'o1' }),
      enc([1, 2]),
      Buffer.from('{"m":').toString('base64url'),
    ]) {
      expect(decodeOrderCursor(bad)).toBeUndefined();
    }
  });

  it('places entries after the cursor by time descending, then id descending', () => {
    const cursor = { s: 100, o: 'm' };
    expect(isAfterCursor(undefined, 5, 'a')).toBe(true);
    expect(isAfterCursor(cursor, 99, 'z')).toBe(true);
    expect(isAfterCursor(cursor, 100, 'l')).toBe(true);
    expect(isAfterCursor(cursor, 100, 'm')).toBe(false);
    expect(isAfterCursor(cursor, 100, 'n')).toBe(false);
    expect(isAfterCursor(cursor, 101, 'a')).toBe(false);
  });
});
