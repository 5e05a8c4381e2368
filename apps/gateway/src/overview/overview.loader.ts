import { Logger } from '@nestjs/common';
import {
  Patterns,
  type ActivityView,
  type GiftView,
  type ListUserOrdersReply,
  type ListUserOrdersRequest,
  type OrderView,
  type RecommendationsReply,
  type RecommendationsRequest,
} from '@app/contracts';
import { defineLoadGraph, type LoadGraph, type StepTiming } from '@app/resilience';
import type { GatewayConfig } from '../config/gateway.config.js';
import { ORDERS_LIMIT } from '../orders/orders.controller.js';
import type { Upstream } from '../upstream/upstream.client.js';
import { withEligibility } from './eligibility.js';
import type { OverviewActivity, OverviewView } from './overview.view.js';

/** Recommendations the overview asks for. */
export const RECOMMENDATIONS_LIMIT = 5;

/** The steps of the overview and their values. */
type OverviewSteps = {
  activities: ActivityView[];
  orders: OrderView[];
  eligibility: OverviewActivity[];
  recommendations: GiftView[];
};
type OverviewInput = { userId: string; requestId: string };

/**
 * `GET /api/me/overview` as a load graph:
 * ```
 * activities (query, fast, essential) ─┐
 *                                      ├─> eligibility (derived, essential)
 * orders     (query, fast, essential) ─┘
 * recommendations (query, fast, NON-essential)
 * ```
 * Three calls in parallel, so the overview takes about one call, not three. A failed or slow
 * recommendation step is left out and named in `degraded`; a failed essential step fails the
 * request with its own error (e.g. 503 SERVICE_UNAVAILABLE for a timeout, through the error filter).
 */
export class OverviewLoader {
  private readonly logger = new Logger(OverviewLoader.name);
  private readonly graph: LoadGraph<OverviewSteps, OverviewInput>;

  constructor(
    private readonly query: Upstream,
    config: Pick<GatewayConfig, 'timeouts'>,
  ) {
    const read = { timeoutMs: config.timeouts.fastMs, retryOnOtherInstance: true };
    this.graph = defineLoadGraph<OverviewSteps, OverviewInput>('overview')
      .step('activities', {
        timeout: 'fast',
        isEssential: true,
        run: async ({ input, once }) =>
          (await once(Patterns.ListActivities, () => this.query.call<{ activities: ActivityView[] }>(Patterns.ListActivities, { meta: { requestId: input.requestId } }, read))).activities,
      })
      .step('orders', {
        timeout: 'fast',
        isEssential: true,
        run: async ({ input, once }) => {
          const request: ListUserOrdersRequest = { meta: { requestId: input.requestId }, userId: input.userId, limit: ORDERS_LIMIT.max };
          return (await once(Patterns.ListUserOrders, () => this.query.call<ListUserOrdersReply>(Patterns.ListUserOrders, request, { ...read, userId: input.userId }))).orders;
        },
      })
      .step('eligibility', {
        timeout: 'fast',
        isEssential: true,
        dependsOn: ['activities', 'orders'],
        run: ({ deps }) => withEligibility(deps.activities, deps.orders, Date.now()),
      })
      .step('recommendations', {
        timeout: 'fast',
        isEssential: false,
        run: async ({ input }) => {
          const request: RecommendationsRequest = { meta: { requestId: input.requestId }, userId: input.userId, limit: RECOMMENDATIONS_LIMIT };
          return (await this.query.call<RecommendationsReply>(Patterns.Recommendations, request, { ...read, userId: input.userId })).gifts;
        },
      })
      .build({ timeouts: { fast: config.timeouts.fastMs, slow: config.timeouts.slowMs } });
  }

  /**
   * The overview of `userId`. `maxConcurrent: 1` makes the same calls one after another (the
   * bench's serial baseline); the default runs them in parallel.
   */
  async load(userId: string, requestId: string, options: { maxConcurrent?: number } = {}): Promise<OverviewView> {
    const steps: StepTiming[] = [];
    try {
      const result = await this.graph.run({ userId, requestId }, { maxConcurrent: options.maxConcurrent, onStep: (t) => steps.push(t) });
      this.logger.debug({ event: 'overview.loaded', requestId, totalMs: round(result.totalMs), degraded: result.degraded, steps: steps.map(brief) });
      return {
        activities: result.get('eligibility'),
        orders: result.get('orders'),
        ...(result.has('recommendations') ? { recommendations: result.get('recommendations') } : {}),
        degraded: [...result.degraded],
      };
    } catch (err) {
      this.logger.debug({ event: 'overview.failed', requestId, steps: steps.map(brief) });
      throw err;
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const brief = (t: StepTiming) => ({ step: t.name, outcome: t.outcome, startMs: round(t.startMs), ms: round(t.durationMs) });
