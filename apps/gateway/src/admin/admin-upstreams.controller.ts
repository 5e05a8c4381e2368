import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import type { EndpointSnapshot } from '@app/routing';
import { AdminAuthGuard } from '../auth/admin-auth.guard.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { DELIVERY_UPSTREAM, QUERY_UPSTREAM } from '../upstream/upstream.tokens.js';

/** One instance as `GET /admin/upstreams` shows it (contract section 3). */
export interface UpstreamView {
  address: string;
  state: 'healthy' | 'ejected' | 'probing';
  /** Share of successful calls (0–1) in the routing window. */
  successRate: number;
  /** Calls in the routing window. */
  requests: number;
  p99Ms: number;
  ejections: number;
  /** While ejected: when probing starts (ISO-8601, UTC). */
  ejectedUntil?: string;
}

/**
 * `GET /admin/upstreams` → `{ query: [...], delivery: [...] }`: the routing state of every instance
 * this gateway knows (static and discovered). Statistics are this gateway's own view.
 */
@Controller('admin/upstreams')
@UseGuards(AdminAuthGuard)
export class AdminUpstreamsController {
  constructor(
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
  ) {}

  @Get()
  list(): { query: UpstreamView[]; delivery: UpstreamView[] } {
    const nowMs = Date.now();
    return { query: view(this.query, nowMs), delivery: view(this.delivery, nowMs) };
  }
}

function view(upstream: Upstream, nowMs: number): UpstreamView[] {
  return (upstream.snapshot?.() ?? []).map((s: EndpointSnapshot<string>) => {
    const item: UpstreamView = {
      address: s.endpoint,
      state: s.state,
      successRate: Math.round(s.successRate * 1000) / 1000,
      requests: s.requests,
      p99Ms: s.p99Ms,
      ejections: s.ejections,
    };
    if (s.ejectedForMs !== undefined) item.ejectedUntil = new Date(nowMs + s.ejectedForMs).toISOString();
    return item;
  });
}
