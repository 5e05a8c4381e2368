import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import {
  type ActivityAnalyticsRanking,
  type ActivityAnalyticsRequest,
  type ActivityAnalyticsView,
  ANALYTICS_MAX_MINUTES,
  type AnalyticsRankingRequest,
  Patterns,
} from '@app/contracts';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

const minutes = z.coerce
  .number()
  .int('must be an integer')
  .min(1)
  .max(ANALYTICS_MAX_MINUTES)
  .default(60)
  .meta({ description: `Minutes covered, the current one included (1-${ANALYTICS_MAX_MINUTES}, default 60).` });

/** `GET /admin/analytics/activities/{activityId}` query string. */
export const activityAnalyticsQuery = z.strictObject({ minutes });
/** `GET /admin/analytics/activities` query string. */
export const analyticsRankingQuery = z.strictObject({
  minutes,
  limit: z.coerce.number().int('must be an integer').min(1).max(200).default(50).meta({ description: 'Most activities answered (1-200, default 50).' }),
});

/**
 * Activity analytics, counted by the analyzers from every claim and settlement (README
 * "Analytics"): per activity, per gift and provider, the counts, success rate, latency quantiles and
 * a per-minute series; and the activities ranked by failing deliveries. Read by query from
 * PostgreSQL: the same answer from every gateway, a few seconds behind the claims.
 */
@Controller('admin/analytics')
@UseGuards(AdminAuthGuard)
export class AdminAnalyticsController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get('activities')
  ranking(@Query() query: unknown, @RequestId() requestId: string): Promise<ActivityAnalyticsRanking> {
    const q = parseStrict(analyticsRankingQuery, { ...(query as object) }, 'query');
    const request: AnalyticsRankingRequest = { meta: { requestId }, minutes: q.minutes, limit: q.limit };
    return this.query.call<ActivityAnalyticsRanking>(Patterns.AnalyticsRanking, request, { timeoutMs: this.config.timeouts.slowMs, retryOnOtherInstance: true });
  }

  @Get('activities/:activityId')
  activity(@Param('activityId') activityId: string, @Query() query: unknown, @RequestId() requestId: string): Promise<ActivityAnalyticsView> {
    const id = pathId(activityId, `activity ${activityId}`);
    const q = parseStrict(activityAnalyticsQuery, { ...(query as object) }, 'query');
    const request: ActivityAnalyticsRequest = { meta: { requestId }, activityId: id, minutes: q.minutes };
    return this.query.call<ActivityAnalyticsView>(Patterns.ActivityAnalytics, request, { timeoutMs: this.config.timeouts.slowMs, retryOnOtherInstance: true });
  }
}
