import { hostname } from 'node:os';
import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { AuditLog, closeRedis, FlagCache, HealthController, Metrics, MetricsController, ReadinessChecks } from '@app/platform';
import { registerGatewayMetrics } from './metrics/gateway.metrics.js';
import { AdmissionGate } from './admission/admission.gate.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { ActivitiesController } from './activities/activities.controller.js';
import { AdminAdmissionController } from './admin/admin-admission.controller.js';
import { AdminAnalyticsController } from './admin/admin-analytics.controller.js';
import { AdminBreakersController } from './admin/admin-breakers.controller.js';
import { AdminActivitiesController } from './admin/admin-activities.controller.js';
import { AdminFlagsController } from './admin/admin-flags.controller.js';
import { AdminOperationsController } from './admin/admin-operations.controller.js';
import { AdminOrdersController } from './admin/admin-orders.controller.js';
import { AdminReleasesController } from './admin/admin-releases.controller.js';
import { AdminUpstreamsController } from './admin/admin-upstreams.controller.js';
import { AdminAuthGuard } from './auth/admin-auth.guard.js';
import { EventTickets } from './auth/event-tickets.js';
import { OrderEventsAuthGuard } from './auth/order-events-auth.guard.js';
import { UserAuthGuard } from './auth/user-auth.guard.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/gateway.config.js';
import { defaultConnections, type GatewayConnections } from './gateway.connections.js';
import { AppErrorFilter } from './errors/app-error.filter.js';
import { GiftsController } from './gifts/gifts.controller.js';
import { gatewayReadiness } from './health/gateway-readiness.js';
import { OrderEventsController } from './orders/order-events.controller.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { OrderEventsHub } from './orders/order-events.hub.js';
import { OrdersController } from './orders/orders.controller.js';
import { OVERVIEW_CONTROLLERS } from './overview/overview.controllers.js';
import { ClaimRateLimiter } from './claims/claim-rate-limiter.js';
import { LatchRefusalReports } from './claims/latch-refusal.reports.js';
import { SoldOutLatch } from './claims/sold-out.latch.js';
import { ResiliencePolicies } from './policies/resilience-policies.js';
import { GrayRelease } from './releases/gray-release.js';
import { registerReleaseMetrics } from './releases/release.metrics.js';
import { FailoverUpstream } from './upstream/failover.upstream.js';
import type { Upstream } from './upstream/upstream.client.js';
import { DELIVERY_UPSTREAM, QUERY_UPSTREAM } from './upstream/upstream.tokens.js';

/** Injection token of the gateway's Redis connection (commands). */
export const GATEWAY_REDIS = Symbol('GATEWAY_REDIS');
/** Injection token of the gateway's Redis subscriber connection (flag changes, order events). */
export const GATEWAY_SUBSCRIBER = Symbol('GATEWAY_SUBSCRIBER');

/**
 * The gateway: HTTP edge of the user and operator APIs over the query and delivery services.
 * On shutdown (after Nest has closed the HTTP server, so in-flight requests are done) it closes
 * the TCP clients, then Redis.
 */
@Module({})
export class GatewayModule implements OnApplicationShutdown {
  constructor(
    @Inject(GATEWAY_REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_SUBSCRIBER) private readonly subscriber: Redis,
    private readonly flags: FlagCache,
    private readonly policies: ResiliencePolicies,
    @Inject(QUERY_UPSTREAM) private readonly query: Upstream,
    @Inject(DELIVERY_UPSTREAM) private readonly delivery: Upstream,
    metrics: Metrics,
    rateLimiter: ClaimRateLimiter,
    admission: AdmissionGate,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly soldOutLatch: SoldOutLatch,
    private readonly grayRelease: GrayRelease,
    private readonly latchReports: LatchRefusalReports,
  ) {
    const isAdaptive = config.resilience.admission.mode === 'adaptive';
    registerGatewayMetrics(metrics, { upstreams: { query, delivery }, flags, policies, rateLimiter, soldOutLatch, admission: isAdaptive ? admission : undefined });
  }

  static register(config: GatewayConfig, connections: GatewayConnections = defaultConnections(config)): DynamicModule {
    return {
      module: GatewayModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 })],
      controllers: [
        GiftsController, ActivitiesController, OrdersController, OrderEventsController,
        ...OVERVIEW_CONTROLLERS,
        AdminActivitiesController, AdminFlagsController, AdminOperationsController, AdminOrdersController, AdminUpstreamsController, AdminBreakersController, AdminAdmissionController, AdminAnalyticsController, HealthController, MetricsController, DashboardController,
        OpenApiController, AdminReleasesController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: Metrics, useValue: new Metrics('gateway') },
        { provide: GATEWAY_REDIS, useFactory: () => connections.redis() },
        { provide: GATEWAY_SUBSCRIBER, useFactory: () => connections.redis() },
        { provide: RedisKeys, useValue: new RedisKeys(config.redisPrefix) },
        {
          provide: FlagCache,
          useFactory: async (redis: Redis, subscriber: Redis, keys: RedisKeys) => {
            const flags = new FlagCache(redis, subscriber, keys);
            await flags.start();
            return flags;
          },
          inject: [GATEWAY_REDIS, GATEWAY_SUBSCRIBER, RedisKeys],
        },
        { provide: AuditLog, useFactory: (redis: Redis, keys: RedisKeys) => new AuditLog(redis, keys), inject: [GATEWAY_REDIS, RedisKeys] },
        { provide: OrderEventsHub, useFactory: (subscriber: Redis) => new OrderEventsHub(subscriber), inject: [GATEWAY_SUBSCRIBER] },
        // Built in both modes; its hooks are registered (main.ts) only with ADMISSION_MODE=adaptive.
        { provide: AdmissionGate, useValue: new AdmissionGate(config.resilience.admission, config.jwtSecret) },
        { provide: ResiliencePolicies, useFactory: (flags: FlagCache) => new ResiliencePolicies(config, flags), inject: [FlagCache] },
        {
          provide: QUERY_UPSTREAM,
          useFactory: (policies: ResiliencePolicies) => policies.wrap('query', serviceUpstream('query', config, connections)),
          inject: [ResiliencePolicies],
        },
        {
          provide: DELIVERY_UPSTREAM,
          useFactory: (policies: ResiliencePolicies) => policies.wrap('delivery', serviceUpstream('delivery', config, connections)),
          inject: [ResiliencePolicies],
        },
        {
          provide: ClaimRateLimiter,
          useFactory: (redis: Redis, keys: RedisKeys) => new ClaimRateLimiter(redis, keys, config.claimRateLimitPerS),
          inject: [GATEWAY_REDIS, RedisKeys],
        },
        {
          provide: SoldOutLatch,
          useFactory: async (redis: Redis, subscriber: Redis, keys: RedisKeys, flags: FlagCache) => {
            const latch = new SoldOutLatch(redis, subscriber, keys, flags, config.soldOutLatch);
            await latch.start();
            return latch;
          },
          inject: [GATEWAY_REDIS, GATEWAY_SUBSCRIBER, RedisKeys, FlagCache],
        },
        {
          // Gray release: rollouts from Redis applied to both services' routers, and the canary judge.
          provide: GrayRelease,
          useFactory: async (redis: Redis, subscriber: Redis, keys: RedisKeys, query: Upstream, delivery: Upstream, audit: AuditLog, metrics: Metrics) => {
            const gray = new GrayRelease({ redis, subscriber, keys, upstreams: { query, delivery }, audit, gatewayId: `${hostname()}:${config.port}` });
            await gray.start();
            registerReleaseMetrics(metrics, gray, { query, delivery });
            return gray;
          },
          inject: [GATEWAY_REDIS, GATEWAY_SUBSCRIBER, RedisKeys, QUERY_UPSTREAM, DELIVERY_UPSTREAM, AuditLog, Metrics],
        },
        {
          provide: LatchRefusalReports,
          useFactory: (redis: Redis, keys: RedisKeys, flags: FlagCache) => new LatchRefusalReports(redis, keys, flags),
          inject: [GATEWAY_REDIS, RedisKeys, FlagCache],
        },
        {
          provide: ReadinessChecks,
          useFactory: (redis: Redis, query: Upstream, delivery: Upstream) => gatewayReadiness(redis, { query, delivery }, config.timeouts.fastMs),
          inject: [GATEWAY_REDIS, QUERY_UPSTREAM, DELIVERY_UPSTREAM],
        },
        { provide: APP_FILTER, useClass: AppErrorFilter },
        UserAuthGuard,
        EventTickets,
        OrderEventsAuthGuard,
        AdminAuthGuard,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.flags.stop();
    this.soldOutLatch.stop();
    this.grayRelease.stop();
    await this.latchReports.stop();
    await Promise.all([this.query.close(), this.delivery.close()]);
    this.policies.dispose();
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.redis)]);
  }
}

/** A service's instances: the primary group, behind a failover to the backup group when one is configured. */
function serviceUpstream(service: 'query' | 'delivery', config: GatewayConfig, connections: GatewayConnections): Upstream {
  const primary = connections.upstream(service, service === 'query' ? config.queryUpstreams : config.deliveryUpstreams);
  const backupAddresses = config.backupUpstreams[service];
  if (!backupAddresses.length) return primary;
  const { failover } = config.resilience;
  return new FailoverUpstream(service, primary, connections.upstream(service, backupAddresses), {
    afterFailures: failover.afterFailures,
    recoverAfterProbes: failover.recoverAfterProbes,
    probeIntervalMs: failover.probeIntervalMs,
    probeTimeoutMs: config.timeouts.fastMs,
  });
}
