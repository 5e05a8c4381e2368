import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type ActivityAnalyticsRanking,
  type ActivityAnalyticsRequest,
  type ActivityAnalyticsView,
  ANALYTICS_MAX_MINUTES,
  type AnalyticsRankingRequest,
  ErrorCode,
  fail,
  ID_PATTERN,
  ok,
  Patterns,
  type Reply,
} from '@app/contracts';
import { QueryArchive } from '../archive/query-archive.js';
import { AdminRepository } from './admin.repository.js';

const minutesOk = (m: unknown): m is number => Number.isInteger(m) && (m as number) >= 1 && (m as number) <= ANALYTICS_MAX_MINUTES;
const unavailable = () => fail(ErrorCode.ServiceUnavailable, 'analytics are kept in PostgreSQL, and this deployment has no DATABASE_URL', { retryable: false });

/**
 * Activity analytics (TCP), read from the analyzers' aggregates in PostgreSQL: every gateway gets
 * the same answer from every query instance. Input re-checked here.
 */
@Controller()
export class AnalyticsHandlers {
  constructor(
    private readonly archive: QueryArchive,
    private readonly admin: AdminRepository,
  ) {}

  @MessagePattern(Patterns.ActivityAnalytics)
  async activity(@Payload() req: ActivityAnalyticsRequest): Promise<Reply<ActivityAnalyticsView>> {
    if (!req || typeof req.activityId !== 'string' || !ID_PATTERN.test(req.activityId) || !minutesOk(req.minutes)) {
      return fail(ErrorCode.BadRequest, `analytics need an activityId and minutes 1-${ANALYTICS_MAX_MINUTES}`);
    }
    const analytics = this.archive.analytics;
    if (!analytics) return unavailable();
    const view = await analytics.activity(req.activityId, req.minutes, Date.now());
    // An activity Redis does not know and nothing was counted for: a 404, not an empty report.
    if (view.gifts.length === 0 && !(await this.admin.activity(req.activityId))) {
      return fail(ErrorCode.NotFound, `activity ${req.activityId} does not exist`);
    }
    return ok(view);
  }

  @MessagePattern(Patterns.AnalyticsRanking)
  async ranking(@Payload() req: AnalyticsRankingRequest): Promise<Reply<ActivityAnalyticsRanking>> {
    if (!req || !minutesOk(req.minutes) || !Number.isInteger(req.limit) || req.limit < 1 || req.limit > 200) {
      return fail(ErrorCode.BadRequest, `the ranking needs minutes 1-${ANALYTICS_MAX_MINUTES} and limit 1-200`);
    }
    const analytics = this.archive.analytics;
    if (!analytics) return unavailable();
    return ok({ minutes: req.minutes, activities: await analytics.ranking(req.minutes, req.limit, Date.now()) });
  }
}
