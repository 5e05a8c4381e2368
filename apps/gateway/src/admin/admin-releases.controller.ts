import { Body, Controller, Get, HttpCode, Inject, Logger, Param, Post, Put, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { AppError, ErrorCode } from '@app/contracts';
import { AuditLog } from '@app/platform';
import { RELEASE_PATTERN } from '@app/routing';
import { Actor } from '../auth/actor.decorator.js';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { parseStrict } from '../http/validation.js';
import { GrayRelease } from '../releases/gray-release.js';
import { releaseView, type ReleaseView } from '../releases/release.view.js';
import { promoted, RELEASE_SERVICES, withCanary, type ReleaseService, type Rollout } from '../releases/rollout.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM, QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** `PUT /admin/releases/{service}` body; also the OpenAPI document's. */
export const releaseBody = z.strictObject({
  canary: z.string().regex(RELEASE_PATTERN, 'must be 1-32 characters of [A-Za-z0-9._-]'),
  weightPct: z
    .number()
    .min(0)
    .max(100)
    .refine((w) => Math.abs(Math.round(w * 100) - w * 100) < 1e-6, 'at most two decimals (users fall in 10 000 buckets)'),
  reason: z.string().trim().min(1, 'a reason is required').max(500),
  steps: z
    .array(z.strictObject({ weightPct: z.number().min(0).max(100), afterS: z.number().int().min(10).max(86_400) }))
    .max(10)
    .optional()
    .meta({ description: 'Optional schedule: each step raises the weight once the canary spent `afterS` seconds at the previous one and the last judgement was clean. Weights must rise.' }),
}).superRefine((body, ctx) => {
  let last = body.weightPct;
  for (const [i, step] of (body.steps ?? []).entries()) {
    if (step.weightPct <= last) ctx.addIssue({ code: 'custom', path: ['steps', i, 'weightPct'], message: `must be above the weight before it (${last})` });
    last = step.weightPct;
  }
});

/** `POST /admin/releases/{service}/promote` body (optional); also the OpenAPI document's. */
export const promoteBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }).optional();

/** Tries of a write that lost a compare-and-set race to another writer before giving up with 409. */
const WRITE_TRIES = 3;

/**
 * Gray release (contract section 3): set a canary and its share of users, promote it, and read every
 * service's rollout with this gateway's per-release and per-activity figures. Writes are stored in
 * Redis with a compare-and-set and announced, so every gateway routes by them within a second;
 * each is audited with actor and reason.
 */
@Controller('admin/releases')
@UseGuards(AdminAuthGuard)
export class AdminReleasesController {
  private readonly logger = new Logger(AdminReleasesController.name);

  constructor(
    private readonly releases: GrayRelease,
    private readonly audit: AuditLog,
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
  ) {}

  /** `GET /admin/releases`: per service, its rollout, the releases seen and how each is doing. */
  @Get()
  list(): { services: ReleaseView[] } {
    return { services: RELEASE_SERVICES.map((service) => this.view(service)) };
  }

  /** `PUT /admin/releases/{service}` with `{ canary, weightPct, reason }`: that share of users goes to the canary. */
  @Put(':service')
  async set(@Param('service') service: string, @Body() body: unknown, @Actor() actor: string): Promise<ReleaseView> {
    const name = serviceOf(service);
    const change = parseStrict(releaseBody, body, 'body');
    const next = await this.write(name, (current) => withCanary(current, { ...change, actor }, new Date()));
    this.logger.log({ event: 'release.set', service: name, canary: next.canary, weightPct: next.weightPct, actor, reason: change.reason });
    await this.audit.record({ actor, action: 'release.set', target: name, reason: `canary ${change.canary} at ${change.weightPct} % of users: ${change.reason}` });
    return this.view(name);
  }

  /** `POST /admin/releases/{service}/promote`: the progressing canary becomes the stable release. */
  @Post(':service/promote')
  @HttpCode(200)
  async promote(@Param('service') service: string, @Body() body: unknown, @Actor() actor: string): Promise<ReleaseView> {
    const name = serviceOf(service);
    const reason = parseStrict(promoteBody, body ?? undefined, 'body')?.reason ?? 'promoted';
    const next = await this.write(name, (current) => promoted(current, actor, reason, new Date()));
    this.logger.log({ event: 'release.promoted', service: name, stable: next.stable, actor, reason });
    await this.audit.record({ actor, action: 'release.promote', target: name, reason: `${next.stable} is now the stable release: ${reason}` });
    return this.view(name);
  }

  /** Applies `change` to the stored rollout, re-reading it when another writer (a judge, an operator) got there first. */
  private async write(service: ReleaseService, change: (current: Rollout) => Rollout): Promise<Rollout> {
    for (let tries = 0; tries < WRITE_TRIES; tries++) {
      await this.releases.store.refresh();
      const next = change(this.releases.store.get(service));
      if (await this.releases.store.compareAndSet(next)) return next;
    }
    throw new AppError(ErrorCode.Conflict, `the ${service} rollout kept changing while it was written; read it and try again`);
  }

  private view(service: ReleaseService): ReleaseView {
    return releaseView(this.releases, service, service === 'query' ? this.query : this.delivery);
  }
}

function serviceOf(service: string): ReleaseService {
  if ((RELEASE_SERVICES as readonly string[]).includes(service)) return service as ReleaseService;
  throw new AppError(ErrorCode.NotFound, `service ${service.slice(0, 100)} does not exist (query or delivery)`);
}
