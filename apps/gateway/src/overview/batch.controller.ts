import { Body, Controller, HttpCode, HttpException, Logger, Post, UseGuards, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { z } from 'zod';
import { AppError, ErrorCode } from '@app/contracts';
import { defineLoadGraph, type StepTiming } from '@app/resilience';
import { UserAuthGuard } from '../auth/user-auth.guard.js';
import { UserId } from '../auth/user-id.decorator.js';
import { toErrorResponse } from '../errors/error-response.js';
import { RequestId } from '../http/request-id.js';
import { parseStrict } from '../http/validation.js';
import { BATCH_TARGET_TYPES, resolveBatchPath, type BatchTargets, type BoundRoute } from './batch.routes.js';

/** Sub-requests one batch may carry. */
export const BATCH_MAX_REQUESTS = 20;
/** Sub-requests of one batch running at once; the rest wait for a slot (the fast class is shared by every request). */
export const BATCH_CONCURRENCY = 6;

/** `POST /api/batch` body; also the OpenAPI document's. */
export const batchBody = z.strictObject({
  requests: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_-]'),
        method: z.string().min(1).max(16),
        path: z.string().min(1).max(2048),
      }),
    )
    .min(1)
    .max(BATCH_MAX_REQUESTS, `at most ${BATCH_MAX_REQUESTS} requests`),
});

/** One answer of a batch. */
export interface BatchItemResponse {
  id: string;
  status: number;
  body: unknown;
}

/**
 * `POST /api/batch`: up to 20 GET sub-requests of the user API, answered by the same controller
 * methods as single requests (not an HTTP loop-back), run in parallel through the loader with at
 * most {@link BATCH_CONCURRENCY} at once. Identical paths are fetched once. The batch answers 200
 * whatever its items do; each item has its own status and body (errors in the error shape, under
 * the sub-request id `<request id>:<item id>`).
 *
 * Whole-batch 400: not an object, unknown fields, 0 or more than 20 requests, an id that is not
 * 1-64 of [A-Za-z0-9_-], duplicate ids. Per item: a method other than GET is 405 (BAD_REQUEST), a
 * path no batchable route has is 404 (NOT_FOUND); the other items still run.
 */
@Controller('api')
@UseGuards(UserAuthGuard)
export class BatchController implements OnModuleInit {
  private readonly logger = new Logger(BatchController.name);
  private targets!: BatchTargets;

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    const get = <T>(type: new (...args: never[]) => T): T => this.moduleRef.get(type, { strict: false });
    this.targets = {
      gifts: get(BATCH_TARGET_TYPES.gifts),
      activities: get(BATCH_TARGET_TYPES.activities),
      orders: get(BATCH_TARGET_TYPES.orders),
      overview: get(BATCH_TARGET_TYPES.overview),
    };
  }

  @Post('batch')
  @HttpCode(200)
  async batch(@Body() body: unknown, @UserId() userId: string, @RequestId() requestId: string): Promise<{ responses: BatchItemResponse[] }> {
    const { requests } = parseStrict(batchBody, body, 'body');
    const seen = new Set<string>();
    const duplicates = requests.flatMap((r, i) => (seen.has(r.id) ? [{ path: `body.requests[${i}].id`, message: `duplicate id "${r.id}"` }] : (seen.add(r.id), [])));
    if (duplicates.length) throw new AppError(ErrorCode.BadRequest, 'invalid request body', { details: duplicates });

    const subId = (id: string) => `${requestId}:${id}`;
    const answers = new Map<string, BatchItemResponse>();
    const runnable = new Map<string, { path: string; route: BoundRoute }>();
    for (const r of requests) {
      const route = r.method === 'GET' ? resolveBatchPath(r.path) : undefined;
      if (r.method !== 'GET') answers.set(r.id, errorItem(r.id, new HttpException(`method ${r.method} is not allowed in a batch: GET only`, 405), subId(r.id)));
      else if (!route) answers.set(r.id, errorItem(r.id, new AppError(ErrorCode.NotFound, `GET ${r.path} is not a route a batch can call`), subId(r.id)));
      else runnable.set(r.id, { path: r.path, route });
    }

    if (runnable.size) {
      // Items are non-essential steps: one failing is that item's answer, never the batch's.
      let builder = defineLoadGraph<Record<string, unknown>>('batch');
      for (const [id, { path, route }] of runnable) {
        builder = builder.step(id, {
          timeout: 'slow',
          isEssential: false,
          run: ({ once }) => once(`GET ${path}`, () => route(this.targets, { userId, requestId: subId(id) })),
        });
      }
      const steps: StepTiming[] = [];
      const result = await builder.build().run(undefined, { maxConcurrent: BATCH_CONCURRENCY, onStep: (t) => steps.push(t) });
      for (const id of runnable.keys()) {
        answers.set(id, result.has(id) ? { id, status: 200, body: result.get(id) } : errorItem(id, result.errors[id], subId(id), this.logger));
      }
      this.logger.debug({
        event: 'batch.loaded',
        requestId,
        totalMs: Math.round(result.totalMs * 10) / 10,
        items: steps.map((t) => ({ id: t.name, status: answers.get(t.name)?.status, startMs: Math.round(t.startMs), ms: Math.round(t.durationMs) })),
      });
    }
    return { responses: requests.map((r) => answers.get(r.id)!) };
  }
}

/** An item's error answer, as the error filter would send it alone; a 500 is logged as the filter does. */
function errorItem(id: string, err: unknown, requestId: string, logger?: Logger): BatchItemResponse {
  const response = toErrorResponse(err, requestId);
  if (response.isUnexpected) {
    const error = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err);
    logger?.error({ event: 'request.failed', requestId, status: response.status, error });
  }
  return { id, status: response.status, body: response.body };
}
