import type { FastifyInstance } from 'fastify';
import type { Logger as Pino } from 'pino';

/** Paths never logged per request: probes and scrapes arrive every few seconds and say nothing. */
export const UNLOGGED_PATHS: readonly RegExp[] = [/^\/health(\/|$)/, /^\/metrics(\/|$)/];

/**
 * One `http.request` line per answered HTTP request: request id, method, route template, path
 * (without its query string, which may carry an SSE ticket), status and duration. No headers are
 * logged at all, so neither `Authorization` nor a cookie can leak; 5xx answers are logged at
 * `error`, the rest at `info` (refusals are the API working).
 *
 * Written from Fastify's `onResponse` hook with the app's pino logger rather than through the
 * pino-http middleware: the same line for half the cost. Gateway CPU per request measured on the
 * 401 path (2,000 requests/s for 10 s, stdout to a file, 2 shared cores, median of 3): 91 us
 * without request lines, 142 us with this hook, 197 us with pino-http (quiet loggers, custom
 * objects). `LOG_LEVEL=warn` turns the lines off (5xx lines, at `error`, stay).
 */
export function logRequests(fastify: FastifyInstance, logger: Pino, unlogged: readonly RegExp[] = UNLOGGED_PATHS): void {
  // The line is made of the fixed fields below, none of which can hold a credential, so it skips the
  // app logger's redaction: pino's redact walks its 22 paths on every line, 12 µs a line against 3 µs
  // without (measured alone, to /dev/null), on every request the gateway answers.
  const lines = logger.child({}, { redact: { paths: [] } });
  fastify.addHook('onResponse', (request, reply, done) => {
    const path = pathOf(request.url);
    if (!(request as Partial<UnloggedRequest>)[UNLOGGED] && !unlogged.some((re) => re.test(path))) {
      const status = reply.statusCode;
      const durationMs = Math.round(reply.elapsedTime * 10) / 10;
      lines[status >= 500 ? 'error' : 'info'](
        { requestId: String(request.id), event: 'http.request', method: request.method, route: request.routeOptions?.url ?? 'unmatched', path, status, durationMs },
        `${request.method} ${path} ${status} ${durationMs}ms`,
      );
    }
    done();
  });
}

const UNLOGGED = Symbol('rampart.unlogged');
interface UnloggedRequest {
  [UNLOGGED]: true;
}

/**
 * Leaves this request out of the per-request log: for answers given by the thousand a second on
 * purpose (load shed at the door), which are counted in metrics and summarised instead.
 */
export function skipRequestLog(request: object): void {
  (request as UnloggedRequest)[UNLOGGED] = true;
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '').split('?', 1)[0];
  return path.length > 300 ? `${path.slice(0, 300)}...` : path;
}
