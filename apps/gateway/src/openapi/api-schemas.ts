import { z } from 'zod';
import {
  activityConfigSchema,
  ID_PATTERN,
  OrderStatuses,
  type ActivityAnalyticsRank,
  type ActivityAnalyticsRanking,
  type ActivityAnalyticsView,
  type ActivityView,
  type AdminActivityView,
  type AnalyticsAlert,
  type AnalyticsCounts,
  type AnalyticsGiftProvider,
  type AnalyticsMinute,
  type AdminOrderList,
  type AdminOrderView,
  type DeadLetter,
  type DiscardFailedReply,
  type GiftView,
  type OrderStatusReply,
  type OrderView,
  type PlanActivityReply,
  type PublishActivityReply,
  type QueueCountsReply,
} from '@app/contracts';
import type { AuditEntry } from '@app/platform';
import type { BulkheadSnapshot } from '@app/resilience';
import type { AdmissionClassView, AdmissionServiceView, AdmissionView } from '../admin/admin-admission.controller.js';
import type { BreakerView } from '../admin/admin-breakers.controller.js';
import type { UpstreamView } from '../admin/admin-upstreams.controller.js';
import type { OverviewView } from '../overview/overview.view.js';

/**
 * Zod schemas of what the gateway answers, for the OpenAPI document. The requests' schemas are not
 * here: the document uses the very objects the controllers validate with (see the operation files).
 *
 * Each schema is bound to the TypeScript type the controller returns by `describes<T>()`, so a field
 * added to, removed from or retyped in a view does not compile until its schema says the same.
 */

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Returns `schema` if its output type is exactly `T`, else a compile error at the call. */
export const describes =
  <T>() =>
  <S extends z.ZodType>(schema: S & (Equals<z.output<S>, T> extends true ? unknown : { __mismatch: T })): S =>
    schema;

const time = z.string().meta({ format: 'date-time', description: 'ISO-8601 time in UTC' });

/** Ids in paths and keys: 1-128 characters of [A-Za-z0-9_-]. */
export const idSchema = z.string().regex(ID_PATTERN);

export const orderStatusSchema = z.enum(OrderStatuses).meta({
  id: 'OrderStatus',
  description: '`reserved` → `queued`/`delivering` → `delivered`; `uncertain` (outcome unknown, an operator resolves it) and `failed` (reservation released). `delivered` and `failed` are terminal.',
});

export const giftSchema = describes<GiftView>()(
  z
    .object({
      giftId: z.string(),
      activityId: z.string(),
      name: z.string(),
      remaining: z.number().int(),
      dailyRemaining: z.number().int(),
      perUserLimit: z.number().int(),
      delivery: z.enum(['sync', 'async']),
    })
    .meta({ id: 'Gift' }),
);

export const activitySchema = describes<ActivityView>()(
  z.object({ activityId: z.string(), name: z.string(), startsAt: time, endsAt: time, gifts: z.array(giftSchema) }).meta({ id: 'Activity' }),
);

export const orderSchema = describes<OrderView>()(
  z
    .object({
      orderId: z.string().meta({ description: 'The order number: the Idempotency-Key of the claim.' }),
      giftId: z.string(),
      activityId: z.string(),
      userId: z.string(),
      status: orderStatusSchema,
      attempts: z.number().int().meta({ description: 'Delivery attempts so far.' }),
      version: z.number().int().meta({ description: 'One more per status change (the event stream\'s `id:`).' }),
      createdAt: time,
      updatedAt: time,
      error: z.string().optional().meta({ description: 'Why the order failed or is uncertain.' }),
    })
    .meta({ id: 'Order' }),
);

export const orderListSchema = z.object({ orders: z.array(orderSchema) });

export const adminOrderListSchema = describes<AdminOrderList>()(
  z.object({
    orders: z.array(orderSchema),
    nextCursor: z.string().optional().meta({ description: 'Present while there may be more: pass it as `cursor` for the next page (a page may be short, even empty).' }),
  }),
);

export const adminOrderSchema = describes<AdminOrderView>()(
  z
    .object({
      ...orderSchema.shape,
      failure: z.enum(['refused', 'exhausted']).optional().meta({ description: 'Why a failed order failed: the provider refused it (4xx), or its tries ran out.' }),
      providerRef: z.string().optional().meta({ description: 'The provider\'s reference of the delivery.' }),
      resolvedBy: z.string().optional().meta({ description: 'The operator who settled it (resolve).' }),
      history: z
        .array(
          z.object({
            status: z.string(),
            at: time,
            actor: z.string().optional().meta({ description: 'Who moved the order: `claim`, `worker`, `sweeper` (the reconciler) or `operator`.' }),
            reason: z.string().optional(),
          }),
        )
        .meta({ description: 'Its status changes, oldest first (the last 50).' }),
    })
    .meta({ id: 'AdminOrder' }),
);

export const orderStatusReplySchema = describes<OrderStatusReply>()(z.object({ orderId: z.string(), status: orderStatusSchema }).meta({ id: 'OrderStatusReply' }));

const claimRefusalSchema = z.enum(['NOT_ACTIVE', 'USER_LIMIT_REACHED', 'SOLD_OUT', 'DAILY_LIMIT_REACHED']);

export const overviewSchema = describes<OverviewView>()(
  z
    .object({
      activities: z.array(
        z.object({
          activityId: z.string(),
          name: z.string(),
          startsAt: time,
          endsAt: time,
          isOpen: z.boolean(),
          gifts: z.array(
            z.object({
              ...giftSchema.shape,
              canClaim: z.boolean(),
              reason: claimRefusalSchema.optional().meta({ description: 'Why the user cannot claim it now.' }),
              claimed: z.number().int(),
              orders: z.array(orderSchema),
            }),
          ),
        }),
      ),
      orders: z.array(orderSchema),
      recommendations: z.array(giftSchema).optional(),
      degraded: z.array(z.string()).meta({ description: 'Parts left out because they failed or were slow (e.g. `recommendations`).' }),
    })
    .meta({ id: 'Overview' }),
);

export const batchReplySchema = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number().int().meta({ description: 'The status the sub-request would have had alone.' }),
      body: z.unknown().meta({ description: 'Its body: the resource, or an error in the one error shape.' }),
    }),
  ),
});

export const ticketSchema = z.object({
  ticket: z.string().meta({ description: 'Pass as `?ticket=` to the order\'s event stream; valid for that order and user only.' }),
  expiresAt: time,
});

export const publishReplySchema = describes<PublishActivityReply>()(z.object({ activityId: z.string(), updated: z.boolean() }).meta({ id: 'PublishReply' }));

/** A gift's configuration as stored (the publish schema's output: defaults applied). */
const giftConfigSchema = activityConfigSchema.shape.gifts.element;
const fieldChangeSchema = z.object({ before: z.unknown(), after: z.unknown() });

export const planReplySchema = describes<PlanActivityReply>()(
  z
    .object({
      activityId: z.string(),
      dryRun: z.literal(true),
      changes: z.object({
        created: z.boolean().meta({ description: 'True when no activity of that id is stored yet.' }),
        activity: z.record(z.string(), fieldChangeSchema).meta({ description: 'Changed activity fields (`name`, `startsAt`, `endsAt`), by name.' }),
        gifts: z.object({
          added: z.array(giftConfigSchema),
          changed: z
            .array(z.object({ giftId: z.string(), fields: z.record(z.string(), fieldChangeSchema) }))
            .meta({ description: 'Changed gift fields by name (`provider.url` for nested ones); `dailyLimit` is null when none.' }),
          removed: z.array(giftConfigSchema).meta({ description: 'Gifts left out of the new configuration: they are closed (stay readable, cannot be claimed).' }),
          unchanged: z.array(z.string()),
        }),
      }),
    })
    .meta({ id: 'PublishPlan', description: 'What publishing the configuration would change; nothing was stored.' }),
);

export const adminActivitySchema = describes<AdminActivityView>()(
  z.object({
    activityId: z.string(),
    name: z.string(),
    startsAt: time,
    endsAt: time,
    gifts: z.array(
      z.object({
        ...giftConfigSchema.shape,
        consumed: z.object({
          reserved: z.number().int().meta({ description: 'Units held by orders (delivered or on their way; failed orders released theirs).' }),
          delivered: z.number().int().meta({ description: 'Orders delivered (counted since this version; earlier deliveries are not in it).' }),
          remaining: z.number().int().meta({ description: 'Inventory not reserved.' }),
          reservedToday: z.number().int().meta({ description: 'Units reserved today (UTC), against the daily limit.' }),
        }),
      }),
    ),
  }),
);

export const flagsSchema = z.object({ flags: z.record(z.string(), z.boolean()) });
export const flagReplySchema = z.object({ name: z.string(), enabled: z.boolean() });

export const queueCountsSchema = describes<QueueCountsReply>()(
  z.object({ waiting: z.number().int(), active: z.number().int(), delayed: z.number().int(), failed: z.number().int(), completed: z.number().int() }),
);

export const deadLetterSchema = describes<DeadLetter>()(
  z
    .object({
      orderId: z.string(),
      reason: z.enum(['refused', 'exhausted']).meta({ description: '`refused`: the provider refused the order (4xx, permanent); `exhausted`: its tries ran out.' }),
      error: z.string().meta({ description: 'The last failure.' }),
      attempts: z.number().int(),
      failedAt: time,
    })
    .meta({ id: 'DeadLetter' }),
);
export const deadLettersSchema = z.object({ failed: z.array(deadLetterSchema) });
export const discardReplySchema = describes<DiscardFailedReply>()(z.object({ orderId: z.string(), status: z.literal('failed'), discarded: z.literal(true) }));

export const auditEntrySchema = describes<AuditEntry>()(
  z.object({ id: z.string(), time, actor: z.string(), action: z.string(), target: z.string(), reason: z.string() }).meta({ id: 'AuditEntry' }),
);
export const auditSchema = z.object({ entries: z.array(auditEntrySchema) });

const upstreamSchema = describes<UpstreamView>()(
  z.object({
    address: z.string(),
    state: z.enum(['healthy', 'ejected', 'probing']),
    successRate: z.number().meta({ description: 'Share of successful calls (0-1) in the routing window.' }),
    requests: z.number().int(),
    p99Ms: z.number(),
    ejections: z.number().int(),
    ejectedUntil: time.optional(),
  }),
);
export const upstreamsSchema = z.object({ query: z.array(upstreamSchema), delivery: z.array(upstreamSchema) });

const admissionClassSchema = describes<AdmissionClassView>()(
  z.object({
    inflight: z.number().int(),
    admitted: z.number().int(),
    refusedLimit: z.number().int(),
    refusedCohort: z.number().int(),
    admittedCohorts: z.number().int().meta({ description: 'User cohorts (of 128) the class admits now.' }),
  }),
);
const admissionServiceSchema = describes<AdmissionServiceView>()(
  z.object({
    limit: z.number().int(),
    inflight: z.number().int(),
    baselineMs: z.number(),
    recentMs: z.number(),
    throttled: z.number().int(),
    classes: z.object({ claim: admissionClassSchema, status: admissionClassSchema, read: admissionClassSchema, overview: admissionClassSchema, report: admissionClassSchema }),
  }),
);
export const admissionSchema = describes<AdmissionView>()(
  z.object({
    mode: z.enum(['adaptive', 'static']),
    priority: z
      .object({
        level: z.number().int(),
        delayMs: z.number(),
        utilization: z.number(),
        cpuShare: z.number().meta({ description: 'Share of the last window the gateway ran on a core (CPU time over wall time).' }),
        overloaded: z.boolean(),
        starved: z.boolean().meta({ description: 'Overloaded while its CPU share was under 0.8 (the loop waited for a core): lower classes are shed, claims are not.' }),
        refused: z.number().int().meta({ description: 'Requests refused by the priority level since start.' }),
        refusedByClass: z
          .object({ claim: z.number().int(), status: z.number().int(), read: z.number().int(), overview: z.number().int(), report: z.number().int() })
          .meta({ description: 'The same, by request class.' }),
      })
      .optional()
      .meta({ description: 'The priority level (of 640 keys: class rank × 128 + user cohort) and the gateway\'s own event-loop delay.' }),
    services: z.object({ query: admissionServiceSchema, delivery: admissionServiceSchema }).optional(),
  }),
);

const breakerSchema = describes<BreakerView>()(
  z.object({
    name: z.string(),
    state: z.enum(['closed', 'open', 'halfOpen']),
    failures: z.number().int(),
    successes: z.number().int(),
    rejects: z.number().int(),
    scope: z.enum(['gateway', 'delivery']),
  }),
);
const bulkheadSchema = describes<BulkheadSnapshot>()(
  z.object({ name: z.string(), maxConcurrent: z.number().int(), maxQueued: z.number().int(), active: z.number().int(), queued: z.number().int(), rejected: z.number().int() }),
);
export const breakersSchema = z.object({ breakers: z.array(breakerSchema), bulkheads: z.array(bulkheadSchema), degraded: z.array(z.string()).optional() });

export const healthSchema = z.looseObject({ status: z.string() });

const analyticsCountsShape = {
  claims: z.number().int().meta({ description: 'Claims answered (a retry of the same order number counts again).' }),
  delivered: z.number().int(),
  failed: z.number().int(),
  uncertain: z.number().int().meta({ description: 'Orders that became uncertain (a later resolution is not counted again).' }),
  refusals: z.record(z.string(), z.number().int()).meta({ description: 'Refused claims by error code.' }),
  successRate: z.number().nullable().meta({ description: 'delivered ÷ (delivered + failed + uncertain); null when nothing settled.' }),
  p50Ms: z.number().nullable().meta({ description: 'Claim latency, from a mergeable histogram (±9%).' }),
  p99Ms: z.number().nullable(),
};
const analyticsCountsSchema = describes<AnalyticsCounts>()(z.object(analyticsCountsShape).meta({ id: 'AnalyticsCounts' }));
const analyticsMinuteSchema = describes<AnalyticsMinute>()(z.object({ minute: time, ...analyticsCountsShape }));
const analyticsGiftSchema = describes<AnalyticsGiftProvider>()(
  z.object({
    giftId: z.string(),
    provider: z.string().meta({ description: 'The provider URL\'s origin when the event was counted.' }),
    totals: analyticsCountsSchema,
    series: z.array(analyticsMinuteSchema).meta({ description: 'Minutes with data, oldest first.' }),
  }),
);
const analyticsAlertSchema = describes<AnalyticsAlert>()(
  z
    .object({
      activityId: z.string(),
      rule: z.string().meta({ description: '`page` (14.4x burn) or `ticket` (6x).' }),
      since: time,
      updatedAt: time,
      objective: z.number(),
      longBurn: z.number(),
      shortBurn: z.number(),
    })
    .meta({ id: 'AnalyticsAlert' }),
);
export const activityAnalyticsSchema = describes<ActivityAnalyticsView>()(
  z
    .object({
      activityId: z.string(),
      minutes: z.number().int(),
      from: time,
      to: time,
      totals: analyticsCountsSchema,
      gifts: z.array(analyticsGiftSchema),
      alerts: z.array(analyticsAlertSchema).meta({ description: 'Burn-rate alerts firing for this activity.' }),
    })
    .meta({ id: 'ActivityAnalytics' }),
);
const analyticsRankSchema = describes<ActivityAnalyticsRank>()(
  z.object({
    activityId: z.string(),
    claims: z.number().int(),
    delivered: z.number().int(),
    failing: z.number().int().meta({ description: 'failed + uncertain.' }),
    refusals: z.number().int(),
    successRate: z.number().nullable(),
    alerts: z.array(z.string()).meta({ description: 'Rules firing for it.' }),
  }),
);
export const analyticsRankingSchema = describes<ActivityAnalyticsRanking>()(z.object({ minutes: z.number().int(), activities: z.array(analyticsRankSchema) }).meta({ id: 'AnalyticsRanking' }));
