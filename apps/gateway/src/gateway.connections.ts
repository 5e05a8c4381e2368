import type { Redis } from 'ioredis';
import { createRedis } from '@app/platform';
import { RoundRobinRouter } from '@app/routing';
import type { GatewayConfig } from './config/gateway.config.js';
import { UpstreamClient, type Upstream } from './upstream/upstream.client.js';

/** The services the gateway talks to. */
export type UpstreamService = 'query' | 'delivery';

/**
 * The gateway's connections to the outside world, created when the module starts. `main.ts` uses
 * {@link defaultConnections}; HTTP specs pass fakes, so no network is needed to test the edge.
 */
export interface GatewayConnections {
  /** The Redis connection (readiness now; flags and rate limits later). */
  redis(): Redis;
  /** The client of one service over its instance addresses. */
  upstream(service: UpstreamService, addresses: readonly string[]): Upstream;
}

/** Real connections: ioredis, and one TCP client per instance behind a round-robin router. */
export function defaultConnections(config: GatewayConfig): GatewayConnections {
  return {
    redis: () => createRedis(config.redisUrl, 'rampart-gateway'),
    upstream: (service, addresses) => new UpstreamClient(service, new RoundRobinRouter(addresses, { name: service })),
  };
}
