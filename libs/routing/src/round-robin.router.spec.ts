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
});
