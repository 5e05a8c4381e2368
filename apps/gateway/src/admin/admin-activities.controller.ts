import { Body, Controller, Inject, Param, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AppError,
  checkActivityConfig,
  ErrorCode,
  ID_PATTERN,
  Patterns,
  type PublishActivityReply,
  type PublishActivityRequest,
} from '@app/contracts';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/**
 * `PUT /admin/activities/{activityId}`: checks the whole configuration here (400 for unknown
 * fields, 422 INVALID_CONFIG listing every violation), then lets delivery check it against storage
 * and store it (its INVALID_CONFIG details pass through). 201 when created, 200 when updated.
 */
@Controller('admin/activities')
@UseGuards(AdminAuthGuard)
export class AdminActivitiesController {
  constructor(
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Put(':activityId')
  async publish(
    @Param('activityId') activityId: string,
    @Body() body: unknown,
    @RequestId() requestId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!ID_PATTERN.test(activityId)) {
      throw new AppError(ErrorCode.BadRequest, 'activityId must be 1-128 characters of [A-Za-z0-9_-]');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AppError(ErrorCode.BadRequest, 'the body must be a JSON object');
    }
    const check = checkActivityConfig(body);
    if (check.kind === 'unknown-fields') throw new AppError(ErrorCode.BadRequest, 'unknown fields in the configuration', { details: check.details });
    if (check.kind === 'invalid') throw new AppError(ErrorCode.InvalidConfig, 'invalid activity configuration', { details: check.details });
    const request: PublishActivityRequest = { meta: { requestId }, activityId, config: check.config, actor: 'admin' };
    const result = await this.delivery.call<PublishActivityReply>(Patterns.PublishActivity, request, {
      timeoutMs: this.config.timeouts.slowMs,
      retryOnOtherInstance: false,
    });
    await reply.status(result.updated ? 200 : 201).send({ activityId: result.activityId, updated: result.updated });
  }
}
