import { Body, Controller, Get, Headers, Inject, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  AppError,
  ErrorCode,
  ID_PATTERN,
  isTerminalStatus,
  Patterns,
  type ClaimGiftReply,
  type ClaimGiftRequest,
  type GetGiftRequest,
  type GiftView,
} from '@app/contracts';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { ClaimRateLimiter } from '../claims/claim-rate-limiter.js';
import { LatchRefusalReports } from '../claims/latch-refusal.reports.js';
import { SoldOutLatch } from '../claims/sold-out.latch.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict, pathId } from '../http/validation.js';
import { GrayRelease, RELEASE_HEADER } from '../releases/gray-release.js';
import type { ServedBy, Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM, QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** A claim carries no fields: `{}` or no body at all. */
export const claimBody = z.strictObject({}).optional();

/**
 * `GET /api/gifts/{giftId}` (query, fast class, may move to another instance) and
 * `POST /api/gifts/{giftId}/claims` (delivery, slow class, never re-sent by the gateway: the client
 * repeats with the same Idempotency-Key, which is the order number).
 */
@Controller('api/gifts')
@UseGuards(UserAuthGuard)
export class GiftsController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
    private readonly rateLimiter: ClaimRateLimiter,
    private readonly soldOut: SoldOutLatch,
    private readonly releases: GrayRelease,
    private readonly latchReports: LatchRefusalReports,
  ) {}

  /** Sticky by user during a gray release: the user's release answers, named in `X-Rampart-Release`. */
  @Get(':giftId')
  async getGift(@Param('giftId') giftId: string, @RequestId() requestId: string, @UserId() userId?: string, @Res({ passthrough: true }) reply?: FastifyReply): Promise<GiftView> {
    const request: GetGiftRequest = { meta: { requestId }, giftId: pathId(giftId, `gift ${giftId}`) };
    const served: ServedBy = {};
    const startedMs = performance.now();
    try {
      // Route gift.get: fast, retried, stale under query.serveStale.
      const gift = await this.query.call<GiftView>(Patterns.GetGift, request, { userId, served });
      this.releases.recordRead(request.giftId, served, performance.now() - startedMs);
      if (served.release && reply) void reply.header(RELEASE_HEADER, served.release);
      return gift;
    } catch (err) {
      this.releases.recordRead(request.giftId, served, performance.now() - startedMs, err);
      throw err;
    }
  }

  /**
   * 200 when the order is settled (`delivered`, or `failed` after a provider refusal released it),
   * 202 while delivery goes on (`reserved`, `queued`, `delivering`, `uncertain`); refusals are thrown.
   */
  @Post(':giftId/claims')
  async claim(
    @Param('giftId') giftId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: unknown,
    @UserId() userId: string,
    @RequestId() requestId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (typeof idempotencyKey !== 'string' || !ID_PATTERN.test(idempotencyKey)) {
      throw new AppError(ErrorCode.BadRequest, 'header Idempotency-Key is required: 1-128 characters of [A-Za-z0-9_-]');
    }
    parseStrict(claimBody, body, 'body');
    const request: ClaimGiftRequest = { meta: { requestId }, giftId: pathId(giftId, `gift ${giftId}`), userId, orderId: idempotencyKey };
    // A new claim of a sold-out gift is answered here, before the rate limiter's Redis round trip.
    try {
      this.soldOut.check(request.giftId, userId, idempotencyKey);
    } catch (err) {
      this.latchReports.refused(request.giftId); // counted by the analyzers like delivery's refusals
      throw err;
    }
    await this.rateLimiter.check(userId, idempotencyKey);
    // Route gift.claim: slow class, its own breaker, never re-sent by the gateway. Sticky by user
    // during a gray release; the outcome feeds the canary judge and the serving release is named in
    // `X-Rampart-Release`.
    const served: ServedBy = {};
    const startedMs = performance.now();
    let result: ClaimGiftReply;
    try {
      result = await this.delivery.call<ClaimGiftReply>(Patterns.ClaimGift, request, { retryOnOtherInstance: false, userId, served });
    } catch (err) {
      this.releases.recordClaim(request.giftId, served, performance.now() - startedMs, { error: err });
      throw err;
    }
    this.releases.recordClaim(request.giftId, served, performance.now() - startedMs, result);
    if (served.release) void reply.header(RELEASE_HEADER, served.release);
    await reply.status(isTerminalStatus(result.status) ? 200 : 202).send({ orderId: result.orderId, status: result.status });
  }
}
