import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { Patterns } from '@app/contracts';
import type { BreakerSnapshot } from '@app/resilience';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import { RequestId } from '../http/request-id.js';
import { ResiliencePolicies } from '../policies/resilience-policies.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** One breaker as `GET /admin/breakers` shows it (contract section 3), with where it lives. */
export interface BreakerView extends BreakerSnapshot {
  /** `gateway` (a route of this gateway) or `delivery` (a provider of the delivery instance that answered). */
  scope: 'gateway' | 'delivery';
}

/**
 * `GET /admin/breakers` → `{ breakers: [...], bulkheads: [...] }`: this gateway's breaker of every
 * protected route called so far (`query.gift.get`, `delivery.gift.claim` ...), then the provider
 * breakers of one delivery instance (`http://host:port` of each provider; omitted, and named in
 * `degraded`, when delivery does not answer in time). Counts cover each breaker's rolling window.
 */
@Controller('admin/breakers')
@UseGuards(AdminAuthGuard)
export class AdminBreakersController {
  constructor(
    private readonly policies: ResiliencePolicies,
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
  ) {}

  @Get()
  async list(@RequestId() requestId: string): Promise<{ breakers: BreakerView[]; bulkheads: ReturnType<ResiliencePolicies['bulkheads']>; degraded?: string[] }> {
    const gateway = this.policies.snapshot().map((b): BreakerView => ({ ...b, scope: 'gateway' }));
    const bulkheads = this.policies.bulkheads();
    try {
      const reply = await this.delivery.call<{ breakers: BreakerSnapshot[] }>(Patterns.ProviderBreakers, { meta: { requestId } }, { route: 'admin.provider-breakers' });
      return { breakers: [...gateway, ...reply.breakers.map((b): BreakerView => ({ ...b, scope: 'delivery' }))], bulkheads };
    } catch {
      return { breakers: gateway, bulkheads, degraded: ['delivery'] };
    }
  }
}
