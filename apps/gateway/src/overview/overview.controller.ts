import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';
import { OverviewLoader } from './overview.loader.js';
import type { OverviewView } from './overview.view.js';

/** `GET /api/me/overview`: the caller's activities, per-gift eligibility and orders in one round trip. */
@Controller('api/me')
@UseGuards(UserAuthGuard)
export class OverviewController {
  private readonly loader: OverviewLoader;

  constructor(@Inject(QUERY_UPSTREAM) query: Upstream, @Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.loader = new OverviewLoader(query, config);
  }

  @Get('overview')
  getOverview(@UserId() userId: string, @RequestId() requestId: string): Promise<OverviewView> {
    return this.loader.load(userId, requestId);
  }
}
