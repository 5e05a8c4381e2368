import { BulkheadPolicy } from './bulkhead.policy.js';
import { BulkheadFullError } from './errors/bulkhead-full.error.js';
import { isBulkheadFull } from './errors/guards.js';

const hang = () => {
  let release!: () => void;
  const done = new Promise<string>((resolve) => (release = () => resolve('done')));
  return { fn: () => done, release };
};

describe('BulkheadPolicy', () => {
  it('runs up to maxConcurrent, queues up to maxQueued, and rejects the excess at once', async () => {
    const b = new BulkheadPolicy({ name: 'slow', maxConcurrent: 2, maxQueued: 1, retryAfterS: 2 });
    const h = hang();
    const running = [b.execute(h.fn), b.execute(h.fn), b.execute(h.fn)];
    expect(b.snapshot()).toMatchObject({ active: 2, queued: 1, rejected: 0 });

    const started = Date.now();
    const err = await b.execute(h.fn).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(20);
    expect(err).toBeInstanceOf(BulkheadFullError);
    expect(isBulkheadFull(err)).toBe(true);
    expect(err).toMatchObject({ code: 'RES_BULKHEAD_FULL', retryAfterS: 2, retryable: false, bulkhead: 'slow' });
    expect(b.snapshot().rejected).toBe(1);

    h.release();
    await expect(Promise.all(running)).resolves.toEqual(['done', 'done', 'done']);
    expect(b.snapshot()).toMatchObject({ active: 0, queued: 0 });
  });

  it('frees the slot when fn fails', async () => {
    const b = new BulkheadPolicy({ maxConcurrent: 1 });
    await expect(b.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(b.execute(async () => 1)).resolves.toBe(1);
  });

  it('drops a queued call whose signal aborted before its turn', async () => {
    const b = new BulkheadPolicy({ maxConcurrent: 1, maxQueued: 1 });
    const h = hang();
    const first = b.execute(h.fn);
    const ctrl = new AbortController();
    const fn = jest.fn(async () => 'queued');
    const queued = b.execute(fn, ctrl.signal);
    ctrl.abort();
    h.release();
    await first;
    await expect(queued).rejects.toThrow();
    expect(fn).not.toHaveBeenCalled();
  });

  it('validates its limits', () => {
    expect(() => new BulkheadPolicy({ maxConcurrent: 0 })).toThrow(RangeError);
    expect(() => new BulkheadPolicy({ maxConcurrent: 1, maxQueued: -1 })).toThrow(RangeError);
  });
});
