import { AppError, ErrorCode } from '@app/contracts';
import { BreakerRegistry } from '../breaker-registry.js';
import type { BreakerStateChange } from '../circuit-breaker.policy.js';
import { CircuitOpenError } from '../errors/circuit-open.error.js';
import { TimeoutError } from '../errors/timeout.error.js';
import { OpossumBreaker } from './opossum.breaker.js';

const fail = () => Promise.reject(new TimeoutError(300, 'fast'));
const ok = async () => 'ok';

describe('OpossumBreaker', () => {
  let breaker: OpossumBreaker;
  let changes: BreakerStateChange[];

  beforeEach(() => {
    jest.useFakeTimers();
    breaker = new OpossumBreaker('query.getGift', { failureThresholdPercent: 50, volumeThreshold: 4, halfOpenAfterMs: 5000 });
    changes = [];
    breaker.onStateChange((c) => changes.push(c));
  });
  afterEach(() => {
    breaker.dispose();
    jest.useRealTimers();
  });

  const run = (fn: () => Promise<string>) => breaker.execute(fn).catch((e: unknown) => e);

  it('stays closed below the volume threshold, then opens on the error percentage', async () => {
    for (let i = 0; i < 3; i++) await run(fail);
    expect(breaker.state).toBe('closed');
    await run(fail);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([{ name: 'query.getGift', from: 'closed', to: 'open' }]);
  });

  it('fails fast with CircuitOpenError while open, without calling fn', async () => {
    for (let i = 0; i < 4; i++) await run(fail);
    const fn = jest.fn(ok);
    const err = await run(fn);
    expect(fn).not.toHaveBeenCalled();
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: ErrorCode.CircuitOpen, target: 'query.getGift', retryAfterS: 5, retryable: false });
    expect(breaker.snapshot()).toEqual({ name: 'query.getGift', state: 'open', failures: 4, successes: 0, rejects: 1 });
  });

  it('half-opens after halfOpenAfterMs, admits one trial, and closes on its success', async () => {
    for (let i = 0; i < 4; i++) await run(fail);
    await jest.advanceTimersByTimeAsync(4999);
    expect(breaker.state).toBe('open');
    await jest.advanceTimersByTimeAsync(1);
    expect(breaker.state).toBe('halfOpen');

    let release!: () => void;
    const trial = breaker.execute(() => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    expect(await run(ok)).toBeInstanceOf(CircuitOpenError); // only one trial at a time
    release();
    await expect(trial).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(changes.map((c) => c.to)).toEqual(['open', 'halfOpen', 'closed']);
  });

  it('re-opens when the half-open trial fails, and half-opens again later', async () => {
    for (let i = 0; i < 4; i++) await run(fail);
    await jest.advanceTimersByTimeAsync(5000);
    await run(fail);
    expect(breaker.state).toBe('open');
    await jest.advanceTimersByTimeAsync(5000);
    expect(breaker.state).toBe('halfOpen');
  });

  it('does not count business errors as failures', async () => {
    const soldOut = () => Promise.reject(new AppError(ErrorCode.SoldOut, 'sold out'));
    for (let i = 0; i < 20; i++) await expect(breaker.execute(soldOut)).rejects.toMatchObject({ code: ErrorCode.SoldOut });
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 20 });
  });

  it('counts transport errors, INTERNAL and unmapped errors as failures', async () => {
    await run(() => Promise.reject(new AppError(ErrorCode.UpstreamUnreachable, 'refused')));
    await run(() => Promise.reject(new AppError(ErrorCode.Internal, 'bug')));
    await run(() => Promise.reject(new Error('ECONNRESET')));
    await run(ok);
    expect(breaker.snapshot()).toMatchObject({ failures: 3, successes: 1, state: 'closed' });
  });

  it('forgets failures once they leave the rolling window', async () => {
    for (let i = 0; i < 3; i++) await run(fail);
    await jest.advanceTimersByTimeAsync(11_000);
    await run(fail);
    expect(breaker.state).toBe('closed');
  });

  it('passes the caller signal to fn and rejects after dispose', async () => {
    const ctrl = new AbortController();
    await breaker.execute(async ({ signal }) => expect(signal).toBe(ctrl.signal), ctrl.signal);
    breaker.dispose();
    breaker.dispose();
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
  });
});

describe('BreakerRegistry', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps one breaker per name, forwards state changes, and snapshots all by name', async () => {
    const registry = new BreakerRegistry({ volumeThreshold: 1, halfOpenAfterMs: 1000 });
    const changes: BreakerStateChange[] = [];
    registry.onStateChange((c) => changes.push(c));
    expect(registry.for('b')).toBe(registry.for('b'));
    await registry.for('a').execute(fail).catch(() => undefined);
    expect(changes).toEqual([{ name: 'a', from: 'closed', to: 'open' }]);
    expect(registry.snapshot().map((s) => [s.name, s.state])).toEqual([['a', 'open'], ['b', 'closed']]);
    registry.dispose();
    registry.dispose();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('slides every breaker window with one shared timer', async () => {
    const registry = new BreakerRegistry({ volumeThreshold: 3 });
    for (const name of ['a', 'b', 'c']) registry.for(name);
    expect(jest.getTimerCount()).toBe(1);
    for (let i = 0; i < 2; i++) await registry.for('a').execute(fail).catch(() => undefined);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(registry.for('a').snapshot().failures).toBe(0);
    registry.dispose();
  });
});
