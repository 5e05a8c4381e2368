import { z } from 'zod';
import { ErrorCode, ID_PATTERN } from '@app/contracts';
import { claimBody } from '../gifts/gifts.controller.js';
import { listQuery } from '../orders/orders.controller.js';
import { batchBody } from '../overview/batch.controller.js';
import type { ApiOperation } from './api-operation.js';
import {
  activitySchema,
  batchReplySchema,
  giftSchema,
  orderListSchema,
  orderSchema,
  orderStatusReplySchema,
  overviewSchema,
  ticketSchema,
} from './api-schemas.js';

const gift = { giftId: 'g1', activityId: 'spring', name: 'Skin', remaining: 998, dailyRemaining: 298, perUserLimit: 1, delivery: 'sync' as const };
const order = {
  orderId: 'shop-12345',
  giftId: 'g1',
  activityId: 'spring',
  userId: 'u1',
  status: 'delivered' as const,
  attempts: 1,
  version: 3,
  createdAt: '2026-05-01T10:00:00.000Z',
  updatedAt: '2026-05-01T10:00:00.120Z',
};
const orderId = { description: 'The order number (the Idempotency-Key of its claim).', example: 'shop-12345' };

/** The user API (contract section 2), as the OpenAPI document describes it. */
export const USER_OPERATIONS: readonly ApiOperation[] = [
  {
    id: 'claimGift',
    method: 'post',
    path: '/api/gifts/{giftId}/claims',
    tag: 'User',
    summary: 'Claim a gift (idempotent by Idempotency-Key)',
    description:
      'The Idempotency-Key is the order number: one key makes at most one order, and the gift is delivered at most once for it, however often and concurrently the claim is repeated. ' +
      'A repeat answers the same orderId with the order\'s current state. 200 when the order is settled (`delivered`, or `failed` after a provider refused it), 202 while delivery continues. ' +
      'Where several refusals apply, the first of NOT_ACTIVE, USER_LIMIT_REACHED, TOO_MANY_UNCERTAIN, SOLD_OUT, DAILY_LIMIT_REACHED is reported. ' +
      'After a 503 (or no answer at all) repeat with the same key. ' +
      'The `X-Rampart-Release` response header names the delivery release that served the claim (gray release: a user\'s calls all go to one release).',
    auth: 'user',
    pathParams: { giftId: { description: 'The gift to claim.', example: 'g1' } },
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'The order number: 1-128 characters of [A-Za-z0-9_-] (purely numeric keys are fine). Required.',
        required: true,
        schema: z.string().regex(ID_PATTERN),
        example: 'shop-12345',
      },
    ],
    body: { schema: claimBody, example: {}, isRequired: false },
    successes: [
      { status: 200, description: 'Settled: delivered (or failed after a provider refusal).', schema: orderStatusReplySchema, example: { orderId: 'shop-12345', status: 'delivered' } },
      { status: 202, description: 'Accepted: `reserved`, `queued`, `delivering` or `uncertain`; follow it with the order or its event stream.', schema: orderStatusReplySchema, example: { orderId: 'shop-12345', status: 'queued' } },
    ],
    errors: [
      ErrorCode.NotFound,
      ErrorCode.NotActive,
      ErrorCode.UserLimitReached,
      ErrorCode.SoldOut,
      ErrorCode.DailyLimitReached,
      ErrorCode.TooManyUncertain,
      ErrorCode.RateLimited,
      ErrorCode.IdempotencyKeyReused,
    ],
    callsServices: true,
  },
  {
    id: 'getGift',
    method: 'get',
    path: '/api/gifts/{giftId}',
    tag: 'User',
    summary: 'Read a gift with what is left',
    description: 'The `X-Rampart-Release` response header names the query release that answered (gray release: sticky by user).',
    auth: 'user',
    pathParams: { giftId: { description: 'The gift.', example: 'g1' } },
    successes: [{ status: 200, description: 'The gift.', schema: giftSchema, example: gift }],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'getActivity',
    method: 'get',
    path: '/api/activities/{activityId}',
    tag: 'User',
    summary: 'Read an activity with its gifts',
    description: 'When the query service cannot answer, the gateway answers the last good value it has (if any) instead of an error.',
    auth: 'user',
    pathParams: { activityId: { description: 'The activity.', example: 'spring' } },
    successes: [
      {
        status: 200,
        description: 'The activity.',
        schema: activitySchema,
        example: { activityId: 'spring', name: 'Spring festival', startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2027-01-01T00:00:00.000Z', gifts: [gift] },
      },
    ],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'getOrder',
    method: 'get',
    path: '/api/orders/{orderId}',
    tag: 'User',
    summary: 'Read one of the caller\'s orders',
    description: 'Another user\'s order is answered 404, as if it did not exist. Archived (settled, old) orders are still answered.',
    auth: 'user',
    pathParams: { orderId },
    successes: [{ status: 200, description: 'The order.', schema: orderSchema, example: order }],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'listMyOrders',
    method: 'get',
    path: '/api/me/orders',
    tag: 'User',
    summary: 'The caller\'s orders, newest first',
    auth: 'user',
    query: listQuery,
    queryExample: { limit: '20' },
    successes: [{ status: 200, description: 'The orders (default 50, at most 200).', schema: orderListSchema, example: { orders: [order] } }],
    callsServices: true,
  },
  {
    id: 'getMyOverview',
    method: 'get',
    path: '/api/me/overview',
    tag: 'User',
    summary: 'Activities with per-gift eligibility and the caller\'s orders, in one call',
    description: 'Composed from several calls in parallel; a non-essential part that fails or is slow is left out and named in `degraded`.',
    auth: 'user',
    successes: [
      {
        status: 200,
        description: 'The overview.',
        schema: overviewSchema,
        example: {
          activities: [{ activityId: 'spring', name: 'Spring festival', startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2027-01-01T00:00:00.000Z', isOpen: true, gifts: [{ ...gift, canClaim: false, reason: 'USER_LIMIT_REACHED', claimed: 1, orders: [order] }] }],
          orders: [order],
          degraded: ['recommendations'],
        },
      },
    ],
    callsServices: true,
  },
  {
    id: 'batch',
    method: 'post',
    path: '/api/batch',
    tag: 'User',
    summary: 'Up to 20 GET requests of the user API in one call',
    description: 'Run in parallel; each answer has its own status and body (an error in the one error shape), so a failing service shows in the items, not as a 503 of the batch. A method other than GET is answered 405 and an unknown path 404 per item; the others still run.',
    auth: 'user',
    body: { schema: batchBody, example: { requests: [{ id: 'a', method: 'GET', path: '/api/gifts/g1' }, { id: 'b', method: 'GET', path: '/api/me/orders?limit=5' }] }, isRequired: true },
    successes: [
      {
        status: 200,
        description: 'One answer per request, in the order asked.',
        schema: batchReplySchema,
        example: { responses: [{ id: 'a', status: 200, body: gift }, { id: 'b', status: 200, body: { orders: [order] } }] },
      },
    ],
    callsServices: false, // sub-requests' failures are items' answers,
  },
  {
    id: 'createOrderEventsTicket',
    method: 'post',
    path: '/api/orders/{orderId}/events/ticket',
    tag: 'Order events',
    summary: 'A ticket for a browser\'s EventSource on this order\'s events',
    description: 'Owner only (another user\'s order is 404). The ticket is valid for this order, this user and the event stream only, for EVENT_TICKET_TTL_S (default 60 s); it is checked when the stream opens.',
    auth: 'user',
    pathParams: { orderId },
    successes: [{ status: 200, description: 'The ticket.', schema: ticketSchema, example: { ticket: 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl', expiresAt: '2026-05-01T10:01:00.000Z' } }],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
  {
    id: 'followOrderEvents',
    method: 'get',
    path: '/api/orders/{orderId}/events',
    tag: 'Order events',
    summary: 'Server-sent events of an order\'s status',
    description:
      'The stream opens with `retry: 3000`, then sends one `status` event per change, starting with the current status: `id: <version>`, `event: status`, `data: {"orderId","status"}`. ' +
      'A status is sent only when newer than what was sent. A comment line `: keep-alive` every 15 s. The stream ends after `delivered` or `failed`, and after 10 minutes in any case (reconnect). ' +
      'Authenticate with `Authorization: Bearer <user JWT>`, or (browsers\' EventSource cannot send headers) with `?ticket=` from the ticket operation.',
    auth: 'user-or-ticket',
    pathParams: { orderId },
    extraQuery: [{ name: 'ticket', description: 'A ticket from `POST /api/orders/{orderId}/events/ticket`, instead of the Authorization header.', schema: z.string() }],
    successes: [
      {
        status: 200,
        description: 'A `text/event-stream`.',
        contentType: 'text/event-stream',
        schema: z.string(),
        example: 'retry: 3000\n\nid: 2\nevent: status\ndata: {"orderId":"shop-12345","status":"queued"}\n\nid: 3\nevent: status\ndata: {"orderId":"shop-12345","status":"delivered"}\n\n',
      },
    ],
    errors: [ErrorCode.NotFound],
    callsServices: true,
  },
];
