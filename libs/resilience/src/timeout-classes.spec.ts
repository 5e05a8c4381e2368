import { compose } from './compose.js';
import { BulkheadFullError } from './errors/bulkhead-full.error.js';
import { DEFAULT_TIMEOUT_CLASSES, TimeoutClasses } from './timeout-classes.js';

describe('TimeoutClasses', () => {
  it('defaults to fast 300 ms and slow 3 s, with one shared bulkhead per class', () => {
    const classes = new TimeoutClasses();
    expect(classes.get('fast').timeout.ms).toBe(300);
    expect(classes.get('slow').timeout.ms).toBe(3000);
    expect(classes.get('fast').bulkhead).toBe(classes.get('fast').bulkhead);
    expect(classes.get('fast').bulkhead).not.toBe(classes.get('slow').bulkhead);
    expect(classes.options).toEqual(DEFAULT_TIMEOUT_CLASSES);
  });

  it('applies overrides and caches per-route timeouts per (class, ms)', () => {
    const classes = new TimeoutClasses({ fast: { timeoutMs: 200, maxConcurrent: 8, maxQueued: undefined } });
    expect(classes.options.fast).toEqual({ timeoutMs: 200, maxConcurrent: 8, maxQueued: 0, retryAfterS: 1 });
    expect(classes.timeout('fast')).toBe(classes.get('fast').timeout);
    expect(classes.timeout('slow', 5000)).toBe(classes.timeout('slow', 5000));
    expect(classes.timeout('slow', 5000).ms).toBe(5000);
  });

  it('isolates classes: a saturated slow class leaves fast calls unaffected', async () => {
    jest.useFakeTimers();
    try {
      const classes = new TimeoutClasses({ slow: { maxConcurrent: 2, maxQueued: 1 }, fast: { maxConcurrent: 4 } });
      const slow = compose(classes.get('slow').bulkhead, classes.get('slow').timeout);
      const fast = compose(classes.get('fast').bulkhead, classes.get('fast').timeout);
      const hung = () => new Promise<never>(() => undefined); // a hung dependency

      const slowCalls = [slow.execute(hung), slow.execute(hung), slow.execute(hung)].map((p) => p.catch((e: unknown) => e));
      await expect(slow.execute(hung)).rejects.toBeInstanceOf(BulkheadFullError); // excess: 503 at once

      // Fast calls still run immediately, with their own slots and timeout.
      const results = await Promise.all(Array.from({ length: 4 }, (_, i) => fast.execute(async () => i)));
      expect(results).toEqual([0, 1, 2, 3]);
      expect(classes.snapshot()).toEqual([
        expect.objectContaining({ name: 'fast', active: 0, rejected: 0 }),
        expect.objectContaining({ name: 'slow', active: 2, queued: 1, rejected: 1 }),
      ]);

      // The hung slow calls time out (3 s each) and free their slots even though fn never settles.
      await jest.advanceTimersByTimeAsync(6000);
      expect((await slowCalls[0]) as Error).toMatchObject({ code: 'RES_TIMEOUT' });
      expect(classes.get('slow').bulkhead.snapshot()).toMatchObject({ active: 0, queued: 0 });
    } finally {
      jest.useRealTimers();
    }
  });
});
