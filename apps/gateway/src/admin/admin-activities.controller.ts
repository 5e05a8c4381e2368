import { Body, Controller, Get, Inject, Param, Put, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  type AdminActivityView,
  type AdminGetActivityRequest,
  activityConfigSchema,
  AppError,
  checkActivityConfig,
  ErrorCode,
  ID_PATTERN,
  Patterns,
  type PlanActivityReply,
  type PlanActivityRequest,
  type PublishActivityReply,
  type PublishActivityRequest,
} from '@app/contracts';
import { Actor } from '../auth/actor.decorator.js';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM, QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** `PUT /admin/activities/{activityId}` query string: `dryRun=true` checks and answers the diff, storing nothing. */
export const publishQuery = z.strictObject({
  dryRun: z.enum(['true', 'false']).optional().meta({ description: '`true`: run every check and answer what would change (200), storing and auditing nothing.' }),
});
/** The optional `reason` a publish body may carry beside the configuration (recorded in the audit log). */
export const publishReason = z.strictObject({
  reason: z.string().trim().min(1, 'must not be empty').max(500).optional(),
});
/**
 * The publish body as the two checks of `publish` accept it together: the configuration
 * (`checkActivityConfig`, 400 for unknown fields, 422 for violations) and `publishReason`. The
 * OpenAPI document's body schema; the route checks the parts apart for their different statuses.
 */
export const publishBody = activityConfigSchema.extend(publishReason.shape);

/**
 * `PUT /admin/activities/{activityId}`: checks the whole configuration here (400 for unknown
 * fields, 422 INVALID_CONFIG listing every violation), then lets delivery check it against storage
 * and store it (its INVALID_CONFIG details pass through). 201 when created, 200 when updated.
 * With `?dryRun=true` delivery runs the same checks and answers what would change (200), storing
 * and auditing nothing. `GET` reads the stored configuration with each gift's consumption (query).
 */
@Controller('admin/activities')
@UseGuards(AdminAuthGuard)
export class AdminActivitiesController {
  constructor(
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Put(':activityId')
  async publish(
    @Param('activityId') activityId: string,
    @Query() query: unknown,
    @Body() body: unknown,
    @Actor() actor: string,
    @RequestId() requestId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!ID_PATTERN.test(activityId)) {
      throw new AppError(ErrorCode.BadRequest, 'activityId must be 1-128 characters of [A-Za-z0-9_-]');
    }
    const { dryRun } = parseStrict(publishQuery, { ...(query as object) }, 'query');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AppError(ErrorCode.BadRequest, 'the body must be a JSON object');
    }
    const { reason: rawReason, ...configBody } = body as Record<string, unknown>;
    const { reason } = parseStrict(publishReason, rawReason === undefined ? {} : { reason: rawReason }, 'body');
    const check = checkActivityConfig(configBody);
    if (check.kind === 'unknown-fields') throw new AppError(ErrorCode.BadRequest, 'unknown fields in the configuration', { details: check.details });
    if (check.kind === 'invalid') throw new AppError(ErrorCode.InvalidConfig, 'invalid activity configuration', { details: check.details });
    const options = { timeoutMs: this.config.timeouts.slowMs, retryOnOtherInstance: false };
    if (dryRun === 'true') {
      // A dry run stores nothing: safe to send to another instance.
      const plan: PlanActivityRequest = { meta: { requestId }, activityId, config: check.config };
      await reply.status(200).send(await this.delivery.call<PlanActivityReply>(Patterns.PlanActivity, plan, { ...options, retryOnOtherInstance: true }));
      return;
    }
    const request: PublishActivityRequest = { meta: { requestId }, activityId, config: check.config, actor, ...(reason ? { reason } : {}) };
    const result = await this.delivery.call<PublishActivityReply>(Patterns.PublishActivity, request, options);
    await reply.status(result.updated ? 200 : 201).send({ activityId: result.activityId, updated: result.updated });
  }

  /** `GET /admin/activities/{activityId}` → the stored configuration, each gift with `consumed` (reserved, delivered, remaining). */
  @Get(':activityId')
  get(@Param('activityId') activityId: string, @RequestId() requestId: string): Promise<AdminActivityView> {
    const request: AdminGetActivityRequest = { meta: { requestId }, activityId: pathId(activityId, `activity ${activityId}`) };
    return this.query.call<AdminActivityView>(Patterns.AdminGetActivity, request, { timeoutMs: this.config.timeouts.fastMs, retryOnOtherInstance: true });
  }
}
