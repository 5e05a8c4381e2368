import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { Patterns, type ActivityView, type GetActivityRequest } from '@app/contracts';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
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
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get(':activityId')
  getActivity(@Param('activityId') activityId: string, @RequestId() requestId: string): Promise<ActivityView> {
    const request: GetActivityRequest = { meta: { requestId }, activityId: pathId(activityId, `activity ${activityId}`) };
    return this.query.call<ActivityView>(Patterns.GetActivity, request, { timeoutMs: this.config.timeouts.fastMs, retryOnOtherInstance: true });
  }
}
