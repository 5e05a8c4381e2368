import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { AuditLog, closeRedis, createRedis, FlagCache, HealthController, Metrics, MetricsController, ReadinessChecks, redisPing } from '@app/platform';
import { registerDeliveryMetrics } from './delivery.metrics.js';
import { ActivityStore } from './activities/activity.store.js';
import { PublishService } from './activities/publish.service.js';
import { ClaimService } from './claims/claim.service.js';
import { ClaimStore, DELIVERY_REDIS } from './claims/claim.store.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from './config/delivery.config.js';
import { DeliveryHandlers } from './delivery.handlers.js';
import { OrderDeliverer } from './deliveries/order-deliverer.js';
import { OrderAdminService } from './orders/order-admin.service.js';
import { ClaimReporter } from './claims/claim.reporter.js';
import { GuardedProvider } from './provider/guarded-provider.js';
import { ProviderClient } from './provider/provider.client.js';
import { DeliveryProcessor } from './queue/delivery.processor.js';
import { DeliveryQueue } from './queue/delivery.queue.js';
import { QueueLifecycle } from './queue/queue.lifecycle.js';

const FLAGS_SUBSCRIBER = Symbol('FLAGS_SUBSCRIBER');
const QUEUE_REDIS = Symbol('QUEUE_REDIS');
const REPORT_REDIS = Symbol('REPORT_REDIS');

@Module({})
export class DeliveryModule implements OnApplicationShutdown {
  constructor(
    @Inject(DELIVERY_REDIS) private readonly redis: Redis,
    @Inject(FLAGS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(QUEUE_REDIS) private readonly queueRedis: Redis,
    @Inject(REPORT_REDIS) private readonly reportRedis: Redis,
    private readonly reporter: ClaimReporter,
    private readonly provider: GuardedProvider,
    metrics: Metrics,
    queue: DeliveryQueue,
    flags: FlagCache,
  ) {
    registerDeliveryMetrics(metrics, { queue, reporter, provider, flags });
  }

  static register(config: DeliveryConfig): DynamicModule {
    return {
      module: DeliveryModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 })],
      controllers: [DeliveryHandlers, HealthController, MetricsController],
      providers: [
        { provide: DELIVERY_CONFIG, useValue: config },
        { provide: Metrics, useValue: new Metrics('delivery') },
        { provide: RedisKeys, useValue: new RedisKeys(config.redisPrefix) },
        { provide: DELIVERY_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery') },
        { provide: FLAGS_SUBSCRIBER, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery-flags') },
        { provide: QUEUE_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery-queue', { isBlocking: true }) },
        {
          provide: FlagCache,
          useFactory: (redis: Redis, subscriber: Redis, keys: RedisKeys) => new FlagCache(redis, subscriber, keys),
          inject: [DELIVERY_REDIS, FLAGS_SUBSCRIBER, RedisKeys],
        },
        {
          provide: DeliveryQueue,
          useFactory: (redis: Redis, keys: RedisKeys) => new DeliveryQueue(redis, keys.queuePrefix(), config.queueAttempts),
          inject: [QUEUE_REDIS, RedisKeys],
        },
        {
          provide: ReadinessChecks,
          useFactory: (redis: Redis, queueRedis: Redis) => new ReadinessChecks({ redis: redisPing(redis), queue: redisPing(queueRedis) }),
          inject: [DELIVERY_REDIS, QUEUE_REDIS],
        },
        { provide: ProviderClient, useFactory: () => new ProviderClient(config.providerTimeoutMs, config.providerConnectTimeoutMs) },
        { provide: GuardedProvider, useFactory: (client: ProviderClient) => new GuardedProvider(client, config.provider), inject: [ProviderClient] },
        { provide: REPORT_REDIS, useFactory: () => createRedis(config.report.redisUrl, 'rampart-delivery-reports') },
        {
          provide: ClaimReporter,
          useFactory: (redis: Redis, keys: RedisKeys, flags: FlagCache) => new ClaimReporter(redis, keys, flags, config.report),
          inject: [REPORT_REDIS, RedisKeys, FlagCache],
        },
        { provide: AuditLog, useFactory: (redis: Redis, keys: RedisKeys) => new AuditLog(redis, keys), inject: [DELIVERY_REDIS, RedisKeys] },
        ClaimStore,
        ClaimService,
        OrderDeliverer,
        OrderAdminService,
        DeliveryProcessor,
        QueueLifecycle,
        ActivityStore,
        PublishService,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.provider.dispose();
    await this.reporter.dispose();
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.queueRedis), closeRedis(this.reportRedis)]);
    await closeRedis(this.redis);
  }
}
