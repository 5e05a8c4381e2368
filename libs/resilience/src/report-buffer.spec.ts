import { ManualClock } from './clock.js';
import { ReportBuffer } from './report-buffer.js';

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('ReportBuffer', () => {
  it('flushes in batches on the timer', async () => {
    const clock = new ManualClock();
    const batches: number[][] = [];
    const buffer = new ReportBuffer<number>({ sink: async (b) => void batches.push(b), batchSize: 3, flushEveryMs: 100, clock });
    for (let i = 0; i < 7; i++) buffer.push(i);
    expect(batches).toEqual([]);
    clock.advance(100);
    await settle();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5]]); // two flushes may be pending at once
    clock.advance(0);
    await settle();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(buffer.stats()).toEqual({ size: 0, dropped: 0, flushed: 7, lost: 0, failedFlushes: 0 });
    expect(clock.pending).toBe(0); // idle: no timer
  });

  it('is bounded: drops the oldest and counts it', async () => {
    const clock = new ManualClock();
    const batches: string[][] = [];
    const buffer = new ReportBuffer<string>({ sink: async (b) => void batches.push(b), maxEntries: 3, clock });
    for (const e of ['a', 'b', 'c', 'd', 'e']) buffer.push(e);
    expect(buffer.stats()).toMatchObject({ size: 3, dropped: 2 });
    clock.advance(100);
    await settle();
    expect(batches).toEqual([['c', 'd', 'e']]);
  });

  it('gives up a flush that exceeds its timeout, aborting its signal, and never blocks push', async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const buffer = new ReportBuffer<number>({
      sink: (_b, s) => {
        signal = s;
        return new Promise<void>(() => undefined); // a hung Redis
      },
      flushTimeoutMs: 20,
      maxPendingFlushes: 1,
      clock,
    });
    buffer.push(1);
    clock.advance(100);
    clock.advance(20);
    await settle();
    expect(signal?.aborted).toBe(true);
    expect(buffer.stats()).toMatchObject({ lost: 1, failedFlushes: 1 });
    for (let i = 0; i < 100; i++) buffer.push(i); // still O(1), still accepted
    expect(buffer.stats().size).toBe(100);
  });

  it('counts a failing sink as lost and keeps going', async () => {
    const clock = new ManualClock();
    let fail = true;
    const buffer = new ReportBuffer<number>({ sink: async () => { if (fail) throw new Error('redis down'); }, clock });
    buffer.push(1);
    clock.advance(100);
    await settle();
    fail = false;
    buffer.push(2);
    clock.advance(100);
    await settle();
    expect(buffer.stats()).toMatchObject({ flushed: 1, lost: 1, failedFlushes: 1 });
  });

  it('dispose flushes what is left once, clears the timer, and is safe twice', async () => {
    const clock = new ManualClock();
    const batches: number[][] = [];
    const buffer = new ReportBuffer<number>({ sink: async (b) => void batches.push(b), batchSize: 2, clock });
    [1, 2, 3].forEach((e) => buffer.push(e));
    await buffer.dispose();
    await buffer.dispose();
    expect(batches).toEqual([[1, 2], [3]]);
    expect(clock.pending).toBe(0);
    buffer.push(4);
    expect(buffer.stats()).toMatchObject({ size: 0, dropped: 1 });
  });
});
