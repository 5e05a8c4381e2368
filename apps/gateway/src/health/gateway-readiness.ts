import { ReadinessChecks, redisPing } from '@app/platform';
import type { Upstream } from '../upstream/upstream.client.js';

/**
 * The gateway can serve when Redis answers PING and each service has at least one instance
 * answering `Patterns.Ping` within the fast timeout class.
 */
export function gatewayReadiness(
  redis: { ping(): Promise<string> },
  upstreams: { query: Upstream; delivery: Upstream },
  fastMs: number,
): ReadinessChecks {
  return new ReadinessChecks({
    redis: redisPing(redis),
    query: () => upstreams.query.anyInstanceAnswers(fastMs),
    delivery: () => upstreams.delivery.anyInstanceAnswers(fastMs),
  });
}
