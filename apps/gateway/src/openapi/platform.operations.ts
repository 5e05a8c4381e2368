import { z } from 'zod';
import type { ApiOperation } from './api-operation.js';
import { healthSchema } from './api-schemas.js';

/** Health, metrics and the API description itself (contract section 4): public, no secrets. */
export const PLATFORM_OPERATIONS: readonly ApiOperation[] = [
  {
    id: 'getLiveness',
    method: 'get',
    path: '/health/live',
    tag: 'Platform',
    summary: '200 while the process runs',
    auth: 'public',
    successes: [{ status: 200, description: 'Alive.', schema: healthSchema, example: { status: 'ok' } }],
    callsServices: false,
  },
  {
    id: 'getReadiness',
    method: 'get',
    path: '/health/ready',
    tag: 'Platform',
    summary: '200 when it can serve (Redis, one non-ejected instance of each service), else 503 naming the failing checks in `details`',
    auth: 'public',
    successes: [{ status: 200, description: 'Ready.', schema: healthSchema, example: { status: 'ok', checks: { redis: 'ok', query: 'ok', delivery: 'ok' } } }],
    callsServices: true,
  },
  {
    id: 'getMetrics',
    method: 'get',
    path: '/metrics',
    tag: 'Platform',
    summary: 'Prometheus metrics',
    auth: 'public',
    successes: [{ status: 200, description: 'Prometheus text format.', contentType: 'text/plain', schema: z.string(), example: 'rampart_http_requests_total{route="/api/gifts/:giftId/claims",status="200"} 12\n' }],
    callsServices: false,
  },
  {
    id: 'getOpenApiDocument',
    method: 'get',
    path: '/openapi.json',
    tag: 'Platform',
    summary: 'This document (OpenAPI 3.1); rendered at /docs',
    auth: 'public',
    successes: [{ status: 200, description: 'The OpenAPI document.', schema: z.looseObject({ openapi: z.string() }), example: { openapi: '3.1.0' } }],
    callsServices: false,
  },
];
