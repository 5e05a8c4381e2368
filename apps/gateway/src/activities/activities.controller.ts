import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { Patterns, type ActivityView, type GetActivityRequest } from '@app/contracts';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { RequestId } from '../http/request-id.js';
import { pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** `GET /api/activities/{activityId}`: the activity with its gifts (query, fast class). */
@Controller('api/activities')
@UseGuards(UserAuthGuard)
export class ActivitiesController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
  ) {}

  @Get(':activityId')
  getActivity(@Param('activityId') activityId: string, @RequestId() requestId: string, @UserId() userId?: string): Promise<ActivityView> {
    const request: GetActivityRequest = { meta: { requestId }, activityId: pathId(activityId, `activity ${activityId}`) };
    // Route activity.get: fast, retried, stale allowed; sticky by user in a gray release.
    return this.query.call<ActivityView>(Patterns.GetActivity, request, { userId });
  }
}
