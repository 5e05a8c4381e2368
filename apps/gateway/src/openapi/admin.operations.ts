import { z } from 'zod';
import { activityConfigSchema, ErrorCode } from '@app/contracts';
import { flagBody } from '../admin/admin-flags.controller.js';
import { auditQuery, failedQuery, resolveBody } from '../admin/admin-operations.controller.js';
import type { ApiHeader, ApiOperation } from './api-operation.js';
import {
  auditSchema,
  breakersSchema,
  deadLettersSchema,
  flagReplySchema,
  flagsSchema,
  orderStatusReplySchema,
  publishReplySchema,
  queueCountsSchema,
  upstreamsSchema,
} from './api-schemas.js';

/** `X-Actor`: the operator's name in the audit entry of a change. Add it to every admin change. */
export const actorHeader: ApiHeader = {
  name: 'X-Actor',
  description: 'The operator\'s name for the audit log (1-64 of [A-Za-z0-9_.@-]); recorded as `admin:<name>`, else `admin`. The token is shared: a label, not an identity.',
  required: false,
  schema: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
  example: 'alice',
};

const orderId = { description: 'The order number.', example: 'shop-12345' };

/**
 * The operator API (contract section 3), as the OpenAPI document describes it. Documenting a new
 * route is one entry here: the request schemas are the controller's own (export them from it).
 */
export const ADMIN_OPERATIONS: readonly ApiOperation[] = [
  {
    id: 'publishActivity',
    method: 'put',
    path: '/admin/activities/{activityId}',
    tag: 'Operator',
    summary: 'Publish (create or update) an activity',
    description:
      'The whole configuration is checked before anything is stored; 422 INVALID_CONFIG lists every violation in `details` (dailyLimit above inventory, endsAt not after startsAt, duplicate giftId, a giftId of another activity, a provider URL that is not http(s), inventory below what is reserved ...). ' +
      'Re-publishing keeps what has been consumed. Defaults: `perUserLimit` 1, `delivery` sync, `provider.orderNumbers` false, no `dailyLimit`.',
    auth: 'admin',
    pathParams: { activityId: { description: 'The activity (a malformed id is 400).', example: 'spring' } },
    body: {
      schema: activityConfigSchema,
      example: {
        name: 'Spring festival',
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2027-01-01T00:00:00Z',
        gifts: [{ giftId: 'g1', name: 'Skin', inventory: 1000, dailyLimit: 300, perUserLimit: 1, delivery: 'sync', provider: { url: 'http://127.0.0.1:7001', orderNumbers: true } }],
      },
      isRequired: true,
    },
    successes: [
      { status: 200, description: 'Updated.', schema: publishReplySchema, example: { activityId: 'spring', updated: true } },
      { status: 201, description: 'Created.', schema: publishReplySchema, example: { activityId: 'spring', updated: false } },
    ],
    errors: [ErrorCode.InvalidConfig],
    callsServices: true,
  },
  {
    id: 'listFlags',
    method: 'get',
    path: '/admin/flags',
    tag: 'Operator',
    summary: 'Every flag that was ever set, with its value',
    auth: 'admin',
    successes: [{ status: 200, description: 'The flags.', schema: flagsSchema, example: { flags: { 'delivery.forceAsync': false, 'gift.g1.paused': true } } }],
    callsServices: false,
  },
  {
    id: 'setFlag',
    method: 'put',
    path: '/admin/flags/{name}',
    tag: 'Operator',
    summary: 'Switch a degradation flag (audited; applied everywhere within 1 s)',
    description: 'Flags: `delivery.forceAsync`, `query.serveStale`, `report.disabled`, `gift.{giftId}.paused`, `service.{query|delivery}.shed`. An unknown name is 404.',
    auth: 'admin',
    pathParams: { name: { description: 'The flag.', schema: z.string(), example: 'delivery.forceAsync' } },
    headers: [actorHeader],
    body: { schema: flagBody, example: { enabled: true, reason: 'provider p1 is slow' }, isRequired: true },
    successes: [{ status: 200, description: 'The flag as set.', schema: flagReplySchema, example: { name: 'delivery.forceAsync', enabled: true } }],
    errors: [ErrorCode.NotFound],
    callsServices: false,
  },
  {
    id: 'getQueueCounts',
    method: 'get',
    path: '/admin/queues',
    tag: 'Operator',
    summary: 'Counts of the delivery queue',
    auth: 'admin',
    successes: [{ status: 200, description: 'The counts.', schema: queueCountsSchema, example: { waiting: 0, active: 1, delayed: 2, failed: 1, completed: 120 } }],
    callsServices: true,
  },
  {
    id: 'listDeadLetters',
    method: 'get',
    path: '/admin/queues/failed',
    tag: 'Operator',
    summary: 'Dead-lettered orders, newest first',
    auth: 'admin',
    query: failedQuery,
    queryExample: { limit: '10' },
    successes: [
      {
        status: 200,
        description: 'The dead letters (default 50, at most 200).',
        schema: deadLettersSchema,
        example: { failed: [{ orderId: 'shop-12345', reason: 'provider refused: 400', attempts: 1, failedAt: '2026-05-01T10:00:01.000Z' }] },
      },
    ],
    callsServices: true,
  },
  {
    id: 'retryDeadLetter',
    method: 'post',
    path: '/admin/queues/failed/{orderId}/retry',
    tag: 'Operator',
    summary: 'Re-queue a dead-lettered order (audited)',
    description: '409 CONFLICT when the order is not `failed` (e.g. a concurrent retry won); 409 USER_LIMIT_REACHED / SOLD_OUT / DAILY_LIMIT_REACHED when its unit cannot be taken back under the claim rules.',
    auth: 'admin',
    pathParams: { orderId },
    headers: [actorHeader],
    successes: [{ status: 200, description: 'The order, queued again.', schema: orderStatusReplySchema, example: { orderId: 'shop-12345', status: 'queued' } }],
    errors: [ErrorCode.NotFound, ErrorCode.Conflict, ErrorCode.UserLimitReached, ErrorCode.SoldOut, ErrorCode.DailyLimitReached],
    callsServices: true,
  },
  {
    id: 'resolveOrder',
    method: 'post',
    path: '/admin/orders/{orderId}/resolve',
    tag: 'Operator',
    summary: 'Settle an uncertain order (audited)',
    description: '`delivered: false` fails the order and releases its reservation. 409 CONFLICT when the order is not `uncertain`; of concurrent resolves exactly one succeeds.',
    auth: 'admin',
    pathParams: { orderId },
    headers: [actorHeader],
    body: { schema: resolveBody, example: { delivered: true, reason: 'provider confirmed delivery by phone' }, isRequired: true },
    successes: [{ status: 200, description: 'The settled order.', schema: orderStatusReplySchema, example: { orderId: 'shop-12345', status: 'delivered' } }],
    errors: [ErrorCode.NotFound, ErrorCode.Conflict],
    callsServices: true,
  },
  {
    id: 'listAudit',
    method: 'get',
    path: '/admin/audit',
    tag: 'Operator',
    summary: 'The audit log of operator changes, newest first',
    auth: 'admin',
    query: auditQuery,
    queryExample: { limit: '20' },
    successes: [
      {
        status: 200,
        description: 'The entries (default 100, at most 1000).',
        schema: auditSchema,
        example: { entries: [{ id: '1714557600000-0', time: '2026-05-01T10:00:00.000Z', actor: 'admin:alice', action: 'flag.enable', target: 'delivery.forceAsync', reason: 'provider p1 is slow' }] },
      },
    ],
    callsServices: false,
  },
  {
    id: 'listUpstreams',
    method: 'get',
    path: '/admin/upstreams',
    tag: 'Operator',
    summary: 'Routing state of every query and delivery instance (this gateway\'s view)',
    auth: 'admin',
    successes: [
      {
        status: 200,
        description: 'Per service, per instance.',
        schema: upstreamsSchema,
        example: {
          query: [{ address: '127.0.0.1:4001', state: 'healthy', successRate: 1, requests: 240, p99Ms: 4, ejections: 0 }],
          delivery: [{ address: '127.0.0.1:4101', state: 'ejected', successRate: 0.2, requests: 10, p99Ms: 300, ejections: 1, ejectedUntil: '2026-05-01T10:00:30.000Z' }],
        },
      },
    ],
    callsServices: false,
  },
  {
    id: 'listBreakers',
    method: 'get',
    path: '/admin/breakers',
    tag: 'Operator',
    summary: 'Circuit breakers and bulkheads',
    description: 'This gateway\'s route breakers, then the provider breakers of one delivery instance (left out and named in `degraded` when delivery does not answer in time).',
    auth: 'admin',
    successes: [
      {
        status: 200,
        description: 'The breakers and bulkheads.',
        schema: breakersSchema,
        example: {
          breakers: [{ name: 'delivery.gift.claim', state: 'closed', failures: 0, successes: 31, rejects: 0, scope: 'gateway' }],
          bulkheads: [{ name: 'slow', maxConcurrent: 64, maxQueued: 16, active: 1, queued: 0, rejected: 0 }],
        },
      },
    ],
    callsServices: false,
  },
];
