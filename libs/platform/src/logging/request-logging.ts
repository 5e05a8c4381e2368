import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger as Pino } from 'pino';
import { pinoHttp } from 'pino-http';

/** Paths never logged per request: probes and scrapes arrive every few seconds and say nothing. */
export const UNLOGGED_PATHS: readonly RegExp[] = [/^\/health(\/|$)/, /^\/metrics(\/|$)/];

interface RequestFacts {
  id: string;
  route: string;
}

/**
 * One `http.request` line per answered HTTP request (pino-http): request id, method, route
 * template, path (without its query string, which may carry an SSE ticket), status and duration.
 * No headers are logged at all, so neither `Authorization` nor a cookie can leak; 5xx answers are
 * logged at `error`, 4xx at `info` like successes (refusals are the API working).
 */
export function logRequests(fastify: FastifyInstance, logger: Pino, unlogged: readonly RegExp[] = UNLOGGED_PATHS): void {
  const facts = new WeakMap<IncomingMessage, RequestFacts>();
  const summary = (req: IncomingMessage, res: ServerResponse, durationMs: number) => {
    const fact = facts.get(req);
    return {
      event: 'http.request',
      method: req.method,
      route: fact?.route ?? 'unmatched',
      path: pathOf(req.url),
      status: res.statusCode,
      durationMs,
    };
  };
  const middleware = pinoHttp({
    logger,
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    genReqId: (req) => facts.get(req)?.id ?? 'unknown',
    autoLogging: { ignore: (req) => unlogged.some((re) => re.test(pathOf(req.url))) },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessObject: (req, res, value) => summary(req, res, Number(value.durationMs)),
    customErrorObject: (req, res, error, value) => ({ ...summary(req, res, Number(value.durationMs)), error: error.message }),
    customSuccessMessage: (req, res, durationMs) => `${req.method} ${pathOf(req.url)} ${res.statusCode} ${durationMs}ms`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    facts.set(request.raw, { id: String(request.id), route: request.routeOptions?.url ?? 'unmatched' });
    middleware(request.raw, reply.raw);
    done();
  });
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '').split('?', 1)[0];
  return path.length > 300 ? `${path.slice(0, 300)}...` : path;
}
