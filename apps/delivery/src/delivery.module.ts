import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { AuditLog, closeRedis, createRedis, FlagCache, HealthController, Metrics, MetricsController, ReadinessChecks, redisPing } from '@app/platform';
import { registerDeliveryMetrics } from './delivery.metrics.js';
import { ArchiveAccess } from './archive/archive-access.js';
import { ArchiveRuntime } from './archive/archive.runtime.js';
import { ArchivedOrderLookup } from './archive/archived-order.lookup.js';
import { ActivityStore } from './activities/activity.store.js';
import { PublishService } from './activities/publish.service.js';
import { ClaimReporter } from './claims/claim.reporter.js';
import { ClaimService } from './claims/claim.service.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from './config/delivery.config.js';
import { DeliveryHandlers } from './delivery.handlers.js';
import { DeliveryRuntime } from './delivery.runtime.js';
import { OrderDeliverer } from './deliveries/order-deliverer.js';
import { IntakeGate } from './intake-gate.js';
import { DELIVERY_REDIS } from './lifecycle/delivery-redis.js';
import { DurabilityFence } from './lifecycle/durability-fence.js';
import { GiftTargets } from './lifecycle/gift-targets.js';
import { OrderBindingStore } from './lifecycle/order-binding.store.js';
import { RetiredNumbers } from './lifecycle/retired-numbers.js';
import { OrderStore } from './lifecycle/order.store.js';
import { BucketRebalancer } from './inventory/bucket.rebalancer.js';
import { GiftBucketCounts } from './inventory/gift-bucket-counts.js';
import { OutcomeReports } from './lifecycle/outcome-reports.js';
import { SoldOutLatchWriter } from './lifecycle/sold-out-latch.writer.js';
import { OrderAdminService } from './orders/order-admin.service.js';
import { GuardedProvider } from './provider/guarded-provider.js';
import { ProviderClient } from './provider/provider.client.js';
import { DeliveryProcessor } from './queue/delivery.processor.js';
import { DeliveryQueue } from './queue/delivery.queue.js';

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
    provider: GuardedProvider,
    metrics: Metrics,
    queue: DeliveryQueue,
    flags: FlagCache,
  ) {
    registerDeliveryMetrics(metrics, { queue, reporter, provider, flags, redis });
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
        // No auto-pipelining: a claim or a job makes several dependent calls, each of which would also
        // wait for the batch in flight (see CreateRedisOptions.autoPipelining).
        { provide: DELIVERY_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery', { autoPipelining: false }) },
        { provide: FLAGS_SUBSCRIBER, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery-flags') },
        { provide: QUEUE_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery-queue', { isBlocking: true }) },
        {
          provide: FlagCache,
          useFactory: (redis: Redis, subscriber: Redis, keys: RedisKeys) => new FlagCache(redis, subscriber, keys),
          inject: [DELIVERY_REDIS, FLAGS_SUBSCRIBER, RedisKeys],
        },
        {
          provide: DeliveryQueue,
          useFactory: (redis: Redis, keys: RedisKeys) => new DeliveryQueue(redis, keys.queuePrefix(), config.queueAttempts, config.archive.queueKeepS),
          inject: [QUEUE_REDIS, RedisKeys],
        },
        {
          provide: ReadinessChecks,
          useFactory: (redis: Redis, queueRedis: Redis) => new ReadinessChecks({ redis: redisPing(redis), queue: redisPing(queueRedis) }),
          inject: [DELIVERY_REDIS, QUEUE_REDIS],
        },
        {
          provide: ProviderClient,
          useFactory: () =>
            new ProviderClient({
              timeoutMs: config.providerTimeoutMs,
              connectTimeoutMs: config.providerConnectTimeoutMs,
              totalDeadlineMs: config.providerTotalDeadlineMs,
              maxBodyBytes: config.providerMaxBodyBytes,
              release: config.release,
            }),
        },
        { provide: DurabilityFence, useFactory: (redis: Redis) => new DurabilityFence(redis, config.fenceReplicas), inject: [DELIVERY_REDIS] },
        { provide: IntakeGate, useValue: new IntakeGate() },
        { provide: GuardedProvider, useFactory: (client: ProviderClient) => new GuardedProvider(client, config.provider), inject: [ProviderClient] },
        { provide: REPORT_REDIS, useFactory: () => createRedis(config.report.redisUrl, 'rampart-delivery-reports') },
        {
          provide: ClaimReporter,
          useFactory: (redis: Redis, keys: RedisKeys, flags: FlagCache) => new ClaimReporter(redis, keys, flags, config.report),
          inject: [REPORT_REDIS, RedisKeys, FlagCache],
        },
        { provide: OutcomeReports, useExisting: ClaimReporter },
        { provide: AuditLog, useFactory: (redis: Redis, keys: RedisKeys) => new AuditLog(redis, keys), inject: [DELIVERY_REDIS, RedisKeys] },
        { provide: ArchiveAccess, useValue: new ArchiveAccess(config.database) },
        ArchiveRuntime,
        ArchivedOrderLookup,
        OrderBindingStore,
        { provide: RetiredNumbers, useFactory: (keys: RedisKeys) => new RetiredNumbers(keys, !!config.database.url), inject: [RedisKeys] },
        OrderStore,
        GiftBucketCounts,
        BucketRebalancer,
        SoldOutLatchWriter,
        GiftTargets,
        ClaimService,
        OrderDeliverer,
        OrderAdminService,
        DeliveryProcessor,
        DeliveryRuntime,
        ActivityStore,
        PublishService,
      ],
    };
  }

  /** Last: the runtime has drained work and closed the provider client and queue before this. */
  async onApplicationShutdown(): Promise<void> {
    await this.reporter.dispose();
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.queueRedis), closeRedis(this.reportRedis)]);
    await closeRedis(this.redis);
  }
}
