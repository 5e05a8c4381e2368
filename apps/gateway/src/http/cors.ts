import type { FastifyRequest } from 'fastify';

/** Options `@fastify/cors` accepts per request (the subset used here). */
export interface CorsDecision {
  origin: string | false;
  methods?: string[];
  allowedHeaders?: string[];
  exposedHeaders?: string[];
  maxAge?: number;
  strictPreflight?: boolean;
}

/**
 * Whether a browser origin matches one of the configured ones: exact (`https://app.example.com`),
 * or with any port (`http://localhost:*`).
 */
export function originMatcher(allowed: readonly string[]): (origin: string) => boolean {
  const exact = new Set(allowed.filter((entry) => !entry.endsWith(':*')));
  const anyPort = allowed.filter((entry) => entry.endsWith(':*')).map((entry) => entry.slice(0, -2));
  return (origin) => {
    if (exact.has(origin)) return true;
    const match = /^(https?:\/\/[^/:]+|https?:\/\/\[[^\]]+\])(:\d{1,5})?$/.exec(origin);
    return match !== null && anyPort.includes(match[1]);
  };
}

/**
 * The per-request CORS options (an `@fastify/cors` delegator): only `/api/*` is open to browsers,
 * and only from the configured origins. Credentials are not needed: tokens travel in `Authorization`.
 */
export function corsDelegate(allowed: readonly string[]) {
  const isAllowed = originMatcher(allowed);
  return (request: FastifyRequest, callback: (err: Error | null, options: CorsDecision) => void): void => {
    const origin = request.headers.origin;
    const isApi = request.url === '/api' || request.url.startsWith('/api/');
    if (!isApi || typeof origin !== 'string' || !isAllowed(origin)) return callback(null, { origin: false });
    callback(null, {
      origin,
      methods: ['GET', 'POST'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
      // A preflight without Access-Control-Request-Method is answered like any request, not with a text 400.
      strictPreflight: false,
    });
  };
}
