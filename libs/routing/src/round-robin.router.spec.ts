import { ErrorCode, isAppError } from '@app/contracts';
import { NoHealthyEndpointError, RoundRobinRouter } from '@app/routing';

describe('RoundRobinRouter', () => {
  it('hands out the endpoints in turn', () => {
    const router = new RoundRobinRouter(['a', 'b', 'c']);
    expect(Array.from({ length: 7 }, () => router.pick())).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('skips excluded endpoints and keeps the rotation going', () => {
    const router = new RoundRobinRouter(['a', 'b', 'c']);
    expect(router.pick(new Set(['a']))).toBe('b');
    expect(router.pick(new Set(['c']))).toBe('a');
    expect(router.pick()).toBe('b');
  });

  it('throws NoHealthyEndpointError when every endpoint is excluded', () => {
    const router = new RoundRobinRouter(['a', 'b'], { name: 'query' });
    let caught: unknown;
    try {
      router.pick(new Set(['a', 'b']));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NoHealthyEndpointError);
    expect(isAppError(caught) && caught.code).toBe(ErrorCode.NoHealthyEndpoint);
    expect((caught as NoHealthyEndpointError).retryable).toBe(false);
    expect((caught as Error).message).toContain('query');
  });

  it('throws NoHealthyEndpointError when it has no endpoints', () => {
    expect(() => new RoundRobinRouter<string>([]).pick()).toThrow(NoHealthyEndpointError);
  });

  it('lists its endpoints and ignores outcomes', () => {
    const router = new RoundRobinRouter(['a', 'b']);
    router.report('a', 'transport', 5);
    expect(router.endpoints()).toEqual(['a', 'b']);
    expect([router.pick(), router.pick()]).toEqual(['a', 'b']);
  });

  it('takes a new endpoint list and counts outcomes for the snapshot', () => {
    const router = new RoundRobinRouter(['a', 'b']);
    router.report('a', 'success', 1);
    router.report('a', 'timeout', 1);
    router.setEndpoints(['a', 'c']);
    expect(router.endpoints()).toEqual(['a', 'c']);
    expect(router.snapshot()).toEqual([
      { endpoint: 'a', state: 'healthy', successRate: 0.5, requests: 2, p99Ms: 0, ejections: 0 },
      { endpoint: 'c', state: 'healthy', successRate: 1, requests: 0, p99Ms: 0, ejections: 0 },
    ]);
    expect(new Set([router.pick(), router.pick()])).toEqual(new Set(['a', 'c']));
  });
});
