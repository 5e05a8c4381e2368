import { TimeoutPolicy, timeout } from './timeout.policy.js';
import { TimeoutError } from './errors/timeout.error.js';
import { isTimeout } from './errors/guards.js';
import { ManualClock } from './clock.js';

describe('TimeoutPolicy', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('rejects with TimeoutError at the deadline and aborts the signal passed inward', async () => {
    let inner: AbortSignal | undefined;
    const p = timeout({ ms: 300, label: 'fast' }).execute(({ signal }) => {
      inner = signal;
      return new Promise<never>(() => undefined); // ignores its signal: the aggressive timeout still answers
    });
    const settled = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await jest.advanceTimersByTimeAsync(299);
    expect(inner!.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await settled;
    expect(inner!.aborted).toBe(true);
    await p.catch((err) => {
      expect(isTimeout(err)).toBe(true);
      expect(err.code).toBe('RES_TIMEOUT');
      expect(err.message).toBe('fast did not finish within 300 ms');
    });
  });

  it('answers the value when fn finishes in time and clears its timer', async () => {
    const p = new TimeoutPolicy(300).execute(async () => 42);
    await expect(p).resolves.toBe(42);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("rethrows fn's own error unchanged", async () => {
    const boom = new Error('boom');
    await expect(new TimeoutPolicy(300).execute(() => Promise.reject(boom))).rejects.toBe(boom);
  });

  it("rejects with the caller's abort reason, not a TimeoutError, when the caller aborts", async () => {
    const caller = new AbortController();
    const p = new TimeoutPolicy(300).execute(() => new Promise<never>(() => undefined), caller.signal);
    const reason = new Error('client went away');
    caller.abort(reason);
    await expect(p).rejects.toBe(reason);
  });

  it('runs on an injected clock, and creates no signal unless fn reads it', async () => {
    jest.useRealTimers();
    const clock = new ManualClock();
    const p = timeout({ ms: 50, clock }).execute(() => new Promise<never>(() => undefined));
    clock.advance(50);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(clock.pending).toBe(0);
  });

  it('rejects at once when the caller signal is already aborted', async () => {
    const fn = jest.fn(async () => 1);
    await expect(new TimeoutPolicy(300).execute(fn, AbortSignal.abort(new Error('late')))).rejects.toThrow('late');
    expect(fn).not.toHaveBeenCalled();
  });

  it('turns a synchronous throw of fn into a rejection', async () => {
    await expect(new TimeoutPolicy(300).execute(() => { throw new Error('sync'); })).rejects.toThrow('sync');
  });

  it('refuses a non-positive timeout', () => {
    expect(() => new TimeoutPolicy(0)).toThrow(RangeError);
  });
});
