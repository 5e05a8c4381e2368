import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, instanceReleases, liveInstances, signServiceMessage } from '@app/platform';
import { ReleaseRouter, RoundRobinRouter, SuccessRateRouter, type Router } from '@app/routing';
import type { GatewayConfig } from './config/gateway.config.js';
import { tcpClient, UpstreamClient, type Upstream } from './upstream/upstream.client.js';
import { DnsDiscovery, mergeSources } from './upstream/dns.discovery.js';
import { UpstreamDiscovery } from './upstream/upstream.discovery.js';

/** The services the gateway talks to. */
export type UpstreamService = 'query' | 'delivery';

/**
 * The gateway's connections to the outside world, created when the module starts. `main.ts` uses
 * {@link defaultConnections}; HTTP specs pass fakes, so no network is needed to test the edge.
 */
export interface GatewayConnections {
  /** A new Redis connection (each call opens its own: commands, subscriber). */
  redis(): Redis;
  /** The client of one service over its instance addresses. */
  upstream(service: UpstreamService, addresses: readonly string[]): Upstream;
}

/**
 * The router of one service: instances grouped by the release they run (gray release), each group
 * routed as `ROUTING_MODE` says. A group other than the stable release's may have all its instances
 * ejected while a stable group exists: its users then fall back to that group.
 */
export function createRouter(service: UpstreamService, addresses: readonly string[], config: GatewayConfig['routing']): ReleaseRouter<string> {
  return new ReleaseRouter(addresses, (_release, endpoints, mayEjectAll) => createGroupRouter(service, endpoints, mayEjectAll, config), { name: service });
}

/** The router of one release group of a service; ejections and readmissions are logged. */
function createGroupRouter(service: UpstreamService, addresses: readonly string[], mayEjectAll: () => boolean, config: GatewayConfig['routing']): Router<string> {
  if (config.mode === 'round-robin') return new RoundRobinRouter(addresses, { name: service });
  const router = new SuccessRateRouter(addresses, {
    name: service,
    mayEjectAll,
    windowMs: config.windowMs,
    buckets: config.windowBuckets,
    ejectBelowRate: config.ejectBelowRate,
    minRequests: config.minRequests,
    consecutiveFailures: config.consecutiveFailures,
    maxEjectionShare: config.maxEjectionShare,
    baseEjectionMs: config.baseEjectionMs,
    maxEjectionMs: config.maxEjectionMs,
    readmitAfterSuccesses: config.readmitAfterSuccesses,
    probeMode: config.probeMode,
  });
  const logger = new Logger('Routing');
  router.onEjected((e) => logger.warn({ event: 'endpoint.ejected', ...e, successRate: Number(e.successRate.toFixed(3)) }));
  router.onReadmitted((e) => logger.log({ event: 'endpoint.readmitted', ...e }));
  return router;
}

/**
 * Real connections: ioredis, and per service one TCP client per instance behind the configured
 * router, its instance list kept current from the registry over its own Redis connection.
 * Closing the client stops its discovery and closes that connection.
 */
export function defaultConnections(config: GatewayConfig): GatewayConnections {
  const keys = new RedisKeys(config.redisPrefix);
  return {
    redis: () => createRedis(config.redisUrl, 'rampart-gateway'),
    upstream: (service, addresses) => {
      const client = new UpstreamClient(service, createRouter(service, addresses, config.routing), {
        probeIntervalMs: config.routing.probeIntervalMs,
        probeTimeoutMs: config.timeouts.fastMs,
        createClient: (address) => tcpClient(address, config.serviceTls),
        sign: (pattern, payload) => signServiceMessage(config.serviceToken, pattern, payload),
      });
      const dnsTarget = config.dnsDiscovery[service];
      if (!config.discovery.isEnabled && !dnsTarget) return client;
      const redis = config.discovery.isEnabled ? createRedis(config.redisUrl, `rampart-gateway-discovery-${service}`) : undefined;
      const sources: Array<() => Promise<string[]>> = [];
      if (redis) sources.push(() => liveInstances(redis, keys, service));
      // Kubernetes: the pods behind a headless Service, besides the static list and the registry.
      if (dnsTarget) {
        const dns = new DnsDiscovery({ target: dnsTarget, refreshMs: config.discovery.refreshMs });
        sources.push(() => dns.addresses());
      }
      const discovery = new UpstreamDiscovery(client, {
        staticAddresses: addresses,
        registered: mergeSources(sources),
        refreshMs: config.discovery.refreshMs,
        releases: redis ? (live) => instanceReleases(redis, keys, service, live) : undefined,
      });
      discovery.start();
      const close = client.close.bind(client);
      client.close = async () => {
        await discovery.stop();
        await Promise.all([close(), redis && closeRedis(redis)]);
      };
      return client;
    },
  };
}
