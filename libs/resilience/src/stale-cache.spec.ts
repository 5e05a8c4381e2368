import { AppError, ErrorCode } from '@app/contracts';
import { ManualClock } from './clock.js';
import { CircuitOpenError } from './errors/circuit-open.error.js';
import { StaleCache } from './stale-cache.js';

describe('StaleCache', () => {
  it('is bounded: the least recently used entry goes first', () => {
    const cache = new StaleCache<number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a'); // a is now the most recent
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.value).toBe(1);
    expect(cache.get('c')?.value).toBe(3);
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(2);
  });

  it('drops values older than maxAgeMs', () => {
    const clock = new ManualClock();
    const cache = new StaleCache<number>({ maxAgeMs: 1000, clock });
    cache.set('a', 1);
    clock.advance(1000);
    expect(cache.get('a')).toEqual({ value: 1, ageMs: 1000 });
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  describe('readThrough', () => {
    const clock = new ManualClock();
    const cache = new StaleCache<string>({ clock });
    const open = () => Promise.reject(new CircuitOpenError('query.getGift'));

    it('remembers fresh values and serves the last one, with its age, when the load is unavailable', async () => {
      await expect(cache.readThrough('g1', async () => 'v1', { allowStale: true })).resolves.toEqual({ value: 'v1', stale: false });
      clock.advance(250);
      await expect(cache.readThrough('g1', open, { allowStale: true })).resolves.toEqual({ value: 'v1', stale: true, ageMs: 250 });
    });

    it('rethrows when stale answers are not allowed, or nothing is stored', async () => {
      await expect(cache.readThrough('g1', open, { allowStale: false })).rejects.toBeInstanceOf(CircuitOpenError);
      await expect(cache.readThrough('unknown', open, { allowStale: true })).rejects.toBeInstanceOf(CircuitOpenError);
    });

    it('never masks a business error', async () => {
      const notFound = new AppError(ErrorCode.NotFound, 'gone');
      await expect(cache.readThrough('g1', () => Promise.reject(notFound), { allowStale: true })).rejects.toBe(notFound);
    });
  });
});
