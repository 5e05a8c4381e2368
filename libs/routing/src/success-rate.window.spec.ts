import { SuccessRateWindow } from '@app/routing';

describe('SuccessRateWindow', () => {
  it('is empty at first: rate 1, no requests, p99 0', () => {
    const w = new SuccessRateWindow();
    expect([w.requests(0), w.successRate(0), w.p99Ms(0)]).toEqual([0, 1, 0]);
  });

  it('counts successes and failures within the window', () => {
    const w = new SuccessRateWindow({ windowMs: 10_000, buckets: 10 });
    for (let i = 0; i < 6; i++) w.record(100 + i, true, 5);
    for (let i = 0; i < 4; i++) w.record(2_000 + i, false, 5);
    expect(w.requests(3_000)).toBe(10);
    expect(w.successRate(3_000)).toBeCloseTo(0.6);
  });

  it.each([
    // [time of the read, requests still inside, success rate]
    [9_999, 10, 0.6],
    [10_000, 4, 0], // the bucket of t=0..999 fell out
    [11_999, 4, 0],
    [12_000, 0, 1], // everything fell out
    [1_000_000, 0, 1], // long silence
  ])('rolls buckets over: read at %d ms sees %d requests at rate %d', (readAt, requests, rate) => {
    const w = new SuccessRateWindow({ windowMs: 10_000, buckets: 10 });
    for (let i = 0; i < 6; i++) w.record(500, true, 5);
    for (let i = 0; i < 4; i++) w.record(2_500, false, 5);
    expect(w.requests(readAt)).toBe(requests);
    expect(w.successRate(readAt)).toBeCloseTo(rate);
  });

  it('reuses buckets after the window wrapped around several times', () => {
    const w = new SuccessRateWindow({ windowMs: 1_000, buckets: 4 });
    for (let t = 0; t < 20_000; t += 50) w.record(t, t % 100 === 0, 1);
    expect(w.requests(19_999)).toBe(20);
    expect(w.successRate(19_999)).toBeCloseTo(0.5);
  });

  it('puts a time slightly in the past into the newest bucket', () => {
    const w = new SuccessRateWindow({ windowMs: 1_000, buckets: 10 });
    w.record(550, true, 1);
    w.record(420, false, 1);
    expect(w.requests(550)).toBe(2);
  });

  it('reports p99 as the upper bound of the histogram bin', () => {
    const w = new SuccessRateWindow();
    for (let i = 0; i < 99; i++) w.record(0, true, 4);
    w.record(0, true, 280);
    expect(w.p99Ms(0)).toBe(5);
    w.record(0, false, 290);
    expect(w.p99Ms(0)).toBe(300);
    const slow = new SuccessRateWindow();
    slow.record(0, false, 60_000);
    expect(slow.p99Ms(0)).toBe(10_000);
  });

  it('forgets everything on reset', () => {
    const w = new SuccessRateWindow();
    w.record(0, false, 10);
    w.reset();
    expect([w.requests(0), w.successRate(0), w.p99Ms(0)]).toEqual([0, 1, 0]);
  });

  it('rejects a window without buckets', () => {
    expect(() => new SuccessRateWindow({ buckets: 0 })).toThrow(RangeError);
  });
});
