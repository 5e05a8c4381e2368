import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatewayConfig } from '../config/gateway.config.js';
import { corsDelegate } from './cors.js';
import { requestIdOf } from './request-id.js';

/**
 * Longest path parameter, in characters. Fastify's default (100) answers 414 for an order number of
 * 101-128 characters, which the contract allows; 128 ids are the longest parameters we have.
 */
const MAX_PARAM_LENGTH = 256;

/**
 * The Fastify adapter of the gateway: body limit from config, request ids from `X-Request-Id`, and
 * a trailing slash ignored (`/admin/` is the dashboard, as is `/admin`).
 */
export function createGatewayAdapter(config: GatewayConfig): FastifyAdapter {
  // return503OnClosing off: during a graceful stop, a request that still arrives on a busy keep-alive
  // connection is served (its answer closes the connection) instead of Fastify's bare 503, which has
  // neither the contract's error shape nor Retry-After (torture seed 3 caught one during a SIGTERM).
  return new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestIdOf,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

/**
 * HTTP behaviour shared by `main.ts` and the inject specs: every response (errors and 404s
 * included) carries `X-Request-Id`, and `/api/*` answers CORS for the configured origins.
 */
export function configureHttp(app: NestFastifyApplication, config: GatewayConfig): void {
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  if (config.corsOrigins.length) app.enableCors({ delegator: corsDelegate(config.corsOrigins) });
}
