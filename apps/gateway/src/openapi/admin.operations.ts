import { z } from 'zod';
import { ErrorCode } from '@app/contracts';
import { publishBody, publishQuery } from '../admin/admin-activities.controller.js';
import { flagBody } from '../admin/admin-flags.controller.js';
import { auditQuery, discardBody, failedQuery, resolveBody, retryBody } from '../admin/admin-operations.controller.js';
import { ADMIN_ORDERS_LIMIT, adminOrdersQuery } from '../admin/admin-orders.controller.js';
import type { ApiHeader, ApiOperation } from './api-operation.js';

const admissionClass = { inflight: 0, admitted: 1200, refusedLimit: 4, refusedCohort: 0, admittedCohorts: 128 };
const admissionClassesExample = { claim: admissionClass, status: admissionClass, read: admissionClass, overview: admissionClass, report: admissionClass };
import { activityAnalyticsQuery, analyticsRankingQuery } from '../admin/admin-analytics.controller.js';
import {
  activityAnalyticsSchema,
  admissionSchema,
  analyticsRankingSchema,
  adminActivitySchema,
  adminOrderListSchema,
  adminOrderSchema,
  auditSchema,
  breakersSchema,
  deadLettersSchema,
  discardReplySchema,
  flagReplySchema,
  flagsSchema,
  orderStatusReplySchema,
  planReplySchema,
  publishReplySchema,
  queueCountsSchema,
  upstreamsSchema,
} from './api-schemas.js';

/** `X-Actor`: the operator's name in the audit entry of a change. Add it to every admin change. */
export const actorHeader: ApiHeader = {
  name: 'X-Actor',
  description: 'The operator\'s name for the audit log (1-64 of [A-Za-z0-9_.@-]; malformed is 400); recorded as `admin:<name>`, else `admin`. The token is shared: a label, not an identity.',
  required: false,
  schema: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
  example: 'alice',
};

const analyticsCounts = { claims: 45, delivered: 30, failed: 5, uncertain: 0, refusals: { SOLD_OUT: 10 }, successRate: 0.8571, p50Ms: 3.4, p99Ms: 12.3 };
const orderId = { description: 'The order number.', example: 'shop-12345' };
const activityId = { description: 'The activity (a malformed id is 400).', example: 'spring' };

const giftConfig = { giftId: 'g1', name: 'Skin', inventory: 1000, dailyLimit: 300, perUserLimit: 1, delivery: 'sync' as const, provider: { url: 'http://127.0.0.1:7001', orderNumbers: true } };
const order = {
  orderId: 'shop-12345',
  giftId: 'g1',
  activityId: 'spring',
  userId: 'u1',
  status: 'uncertain' as const,
  attempts: 1,
  version: 2,
  createdAt: '2026-05-01T10:00:00.000Z',
  updatedAt: '2026-05-01T10:00:05.000Z',
  error: 'provider did not answer within 3000 ms',
};

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
      'Re-publishing keeps what has been consumed; a gift left out is closed (stays readable, cannot be claimed). Defaults: `perUserLimit` 1, `delivery` sync, `provider.orderNumbers` false, no `dailyLimit`. ' +
      'The body may carry a `reason` beside the configuration (recorded in the audit log with `X-Actor`). ' +
      'With `dryRun=true` every check runs alike (422 the same) and the answer is what publishing would change (200), storing and auditing nothing.',
    auth: 'admin',
    pathParams: { activityId },
    query: publishQuery,
    queryExample: { dryRun: 'true' },
    headers: [actorHeader],
    body: {
      schema: publishBody,
      example: { name: 'Spring festival', startsAt: '2026-01-01T00:00:00Z', endsAt: '2027-01-01T00:00:00Z', gifts: [giftConfig], reason: 'spring stock' },
      isRequired: true,
    },
    successes: [
      {
        status: 200,
        description: 'Updated; with `dryRun=true`, what publishing would change (nothing stored).',
        schema: z.union([planReplySchema, publishReplySchema]),
        examples: {
          dryRun: {
            summary: 'dryRun=true: the changes',
            value: {
              activityId: 'spring',
              dryRun: true,
              changes: {
                created: false,
                activity: {},
                gifts: { added: [], changed: [{ giftId: 'g1', fields: { inventory: { before: 500, after: 1000 } } }], removed: [], unchanged: [] },
              },
            },
          },
          updated: { summary: 'Published over an existing activity', value: { activityId: 'spring', updated: true } },
        },
      },
      { status: 201, description: 'Created.', schema: publishReplySchema, example: { activityId: 'spring', updated: false } },
    ],
    errors: [ErrorCode.InvalidConfig],
    callsServices: true,
  },
  {
    id: 'getActivityAdmin',
    method: 'get',
    path: '/admin/activities/{activityId}',
    tag: 'Operator',
    summary: 'Read an activity\'s stored configuration with what each gift consumed',
    description: 'The configuration as published (defaults applied), each gift with `consumed`. Never answered from a last good value: 503 while the query service cannot answer.',
    auth: 'admin',
    pathParams: { activityId },
    successes: [
      {
        status: 200,
        description: 'The configuration and consumption.',
        schema: adminActivitySchema,
        example: {
          activityId: 'spring',
          name: 'Spring festival',
          startsAt: '2026-01-01T00:00:00.000Z',
          endsAt: '2027-01-01T00:00:00.000Z',
          gifts: [{ ...giftConfig, consumed: { reserved: 120, delivered: 117, remaining: 880, reservedToday: 40 } }],
        },
      },
    ],
    errors: [ErrorCode.NotFound],
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
    description: 'Each says whether the provider refused the order (`refused`: it answered 4xx, retrying will not help: discard it) or its tries ran out (`exhausted`: retry once the provider is back).',
    auth: 'admin',
    query: failedQuery,
    queryExample: { limit: '10' },
    successes: [
      {
        status: 200,
        description: 'The dead letters (default 50, at most 200).',
        schema: deadLettersSchema,
        example: {
          failed: [
            { orderId: 'shop-12345', reason: 'refused', error: 'provider answered 400', attempts: 1, failedAt: '2026-05-01T10:00:01.000Z' },
            { orderId: 'shop-12340', reason: 'exhausted', error: 'provider answered 503', attempts: 5, failedAt: '2026-05-01T09:58:40.000Z' },
          ],
        },
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
    description: 'The body and its `reason` are optional (recorded in the audit log). 404 when the order does not exist; 409 CONFLICT when it is not `failed` (e.g. a concurrent retry won); 409 USER_LIMIT_REACHED / SOLD_OUT / DAILY_LIMIT_REACHED when its unit cannot be taken back under the claim rules; 503 (retry shortly) while a split gift\'s stock is being moved to the order\'s empty bucket.',
    auth: 'admin',
    pathParams: { orderId },
    headers: [actorHeader],
    body: { schema: retryBody, example: { reason: 'provider p1 is back' }, isRequired: false },
    successes: [{ status: 200, description: 'The order, queued again.', schema: orderStatusReplySchema, example: { orderId: 'shop-12345', status: 'queued' } }],
    errors: [ErrorCode.NotFound, ErrorCode.Conflict, ErrorCode.UserLimitReached, ErrorCode.SoldOut, ErrorCode.DailyLimitReached],
    callsServices: true,
  },
  {
    id: 'discardDeadLetter',
    method: 'post',
    path: '/admin/queues/failed/{orderId}/discard',
    tag: 'Operator',
    summary: 'Drop a dead letter; the order stays failed (audited)',
    description: 'For an order the provider refused (or one not worth retrying): it leaves the dead-letter set (and the dead-letter alert), its reservation was released when it failed. A reason is required. 404 when the order does not exist or is not dead-lettered.',
    auth: 'admin',
    pathParams: { orderId },
    headers: [actorHeader],
    body: { schema: discardBody, example: { reason: 'provider refused the address; user contacted' }, isRequired: true },
    successes: [{ status: 200, description: 'Discarded.', schema: discardReplySchema, example: { orderId: 'shop-12345', status: 'failed', discarded: true } }],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'listOrdersAdmin',
    method: 'get',
    path: '/admin/orders',
    tag: 'Operator',
    summary: 'Any order of any user, filtered, by cursor (`status=uncertain` is the work list)',
    description:
      `Newest first per gift, gifts in id order (with \`userId\`: that user's orders, newest first). \`limit\` 1-${ADMIN_ORDERS_LIMIT.max} (default ${ADMIN_ORDERS_LIMIT.default}). ` +
      '`nextCursor` is opaque: a position, so orders created meanwhile never shift a page. A page may be short, even empty, and still carry a `nextCursor` (a rare filter reads a bounded number of index entries per page): follow it until it is absent. ' +
      'A malformed cursor, or one from a listing with other filters, is 400. Never answered from a last good value.',
    auth: 'admin',
    query: adminOrdersQuery,
    queryExample: { status: 'uncertain', limit: '20' },
    successes: [
      {
        status: 200,
        description: 'A page of orders.',
        schema: adminOrderListSchema,
        example: { orders: [order], nextCursor: 'eyJtIjoiZyIsImciOiJnMSIsInMiOjE3Nzc2Mjk2MDAwMDAsIm8iOiJzaG9wLTEyMzQ1In0' },
      },
    ],
    callsServices: true,
  },
  {
    id: 'getOrderAdmin',
    method: 'get',
    path: '/admin/orders/{orderId}',
    tag: 'Operator',
    summary: 'Read any order with its history',
    description: 'The order (with `userId`, and `failure`, `providerRef`, `resolvedBy` where they apply) and its status changes: when, by whom (`claim`, `worker`, `sweeper`, `operator`) and why. 404 when it does not exist (a refused claim is no order).',
    auth: 'admin',
    pathParams: { orderId },
    successes: [
      {
        status: 200,
        description: 'The order and its history.',
        schema: adminOrderSchema,
        example: {
          ...order,
          history: [
            { status: 'delivering', at: '2026-05-01T10:00:00.000Z', actor: 'claim' },
            { status: 'uncertain', at: '2026-05-01T10:00:05.000Z', actor: 'claim', reason: 'provider did not answer within 3000 ms' },
          ],
        },
      },
    ],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'resolveOrder',
    method: 'post',
    path: '/admin/orders/{orderId}/resolve',
    tag: 'Operator',
    summary: 'Settle an uncertain order (audited)',
    description: '`delivered: false` fails the order and releases its reservation; a reason is required (audited with `X-Actor`, and in the order\'s history). 404 when the order does not exist; 409 CONFLICT when it is not `uncertain`; of concurrent resolves exactly one succeeds.',
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
    id: 'getAdmission',
    method: 'get',
    path: '/admin/admission',
    tag: 'Operator',
    summary: 'Admission control of this gateway: priority level, per-service limits, decisions per class',
    auth: 'admin',
    successes: [
      {
        status: 200,
        description: 'This gateway\'s view (with ADMISSION_MODE=static, only the mode).',
        schema: admissionSchema,
        example: {
          mode: 'adaptive',
          priority: { level: 640, delayMs: 1.2, utilization: 0.35, cpuShare: 0.33, overloaded: false, starved: false, refused: 0, refusedByClass: { claim: 0, status: 0, read: 0, overview: 0, report: 0 } },
          services: {
            query: { limit: 64, inflight: 3, baselineMs: 2.1, recentMs: 2.4, throttled: 0, classes: admissionClassesExample },
            delivery: { limit: 80, inflight: 12, baselineMs: 6.5, recentMs: 9.1, throttled: 0, classes: admissionClassesExample },
          },
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
  {
    id: 'getActivityAnalytics',
    method: 'get',
    path: '/admin/analytics/activities/{activityId}',
    tag: 'Operator',
    summary: 'An activity\'s claims, outcomes, refusals and latency per gift and provider, per minute',
    description:
      'Counted by the analyzers from every claim and every first settlement, read from PostgreSQL: the same from every gateway, a few seconds (at most 10 s) behind. ' +
      '`alerts` lists the burn-rate alerts firing for the activity. 404 for an activity that is neither published nor counted; 503 without a database.',
    auth: 'admin',
    pathParams: { activityId },
    query: activityAnalyticsQuery,
    queryExample: { minutes: '30' },
    successes: [
      {
        status: 200,
        description: 'The analytics.',
        schema: activityAnalyticsSchema,
        example: {
          activityId: 'spring',
          minutes: 30,
          from: '2026-11-30T10:01:00.000Z',
          to: '2026-11-30T10:31:00.000Z',
          totals: analyticsCounts,
          gifts: [{ giftId: 'g1', provider: 'http://127.0.0.1:7001', totals: analyticsCounts, series: [{ minute: '2026-11-30T10:30:00.000Z', ...analyticsCounts }] }],
          alerts: [],
        },
      },
    ],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'rankActivityAnalytics',
    method: 'get',
    path: '/admin/analytics/activities',
    tag: 'Operator',
    summary: 'Activities ranked by failing deliveries (then claims), with their firing burn-rate alerts',
    auth: 'admin',
    query: analyticsRankingQuery,
    queryExample: { minutes: '60', limit: '20' },
    successes: [
      {
        status: 200,
        description: 'The ranking.',
        schema: analyticsRankingSchema,
        example: { minutes: 60, activities: [{ activityId: 'spring', claims: 45, delivered: 30, failing: 5, refusals: 10, successRate: 0.8571, alerts: ['page'] }] },
      },
    ],
    callsServices: true,
  },
];
