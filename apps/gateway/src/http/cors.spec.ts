import type { FastifyRequest } from 'fastify';
import { corsDelegate, originMatcher, type CorsDecision } from './cors.js';

describe('originMatcher', () => {
  const isAllowed = originMatcher(['http://localhost:*', 'https://app.example.com']);

  it.each([
    ['http://localhost:5173', true],
    ['http://localhost', true],
    ['https://app.example.com', true],
    ['https://localhost:5173', false],
    ['http://localhost.evil.com:80', false],
    ['https://app.example.com:8443', false],
    ['https://app.example.com.evil.com', false],
    ['null', false],
  ])('%s -> %p', (origin, expected) => {
    expect(isAllowed(origin)).toBe(expected);
  });
});

describe('corsDelegate', () => {
  const decide = (url: string, origin?: string): CorsDecision => {
    let decision: CorsDecision | undefined;
    corsDelegate(['http://localhost:*'])({ url, headers: origin ? { origin } : {} } as FastifyRequest, (_err, options) => {
      decision = options;
    });
    return decision!;
  };

  it('allows a configured origin on /api/*', () => {
    expect(decide('/api/gifts/g1', 'http://localhost:3001')).toMatchObject({ origin: 'http://localhost:3001' });
  });

  it('refuses other origins, other paths and requests without Origin', () => {
    expect(decide('/api/gifts/g1', 'http://evil.example')).toEqual({ origin: false });
    expect(decide('/admin/activities/a1', 'http://localhost:3001')).toEqual({ origin: false });
    expect(decide('/apix', 'http://localhost:3001')).toEqual({ origin: false });
    expect(decide('/api/gifts/g1')).toEqual({ origin: false });
  });
});
