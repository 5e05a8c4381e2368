import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, HealthController, ReadinessChecks, redisPing } from '@app/platform';
import { ActivityStore } from './activities/activity.store.js';
import { PublishService } from './activities/publish.service.js';
import { ClaimService } from './claims/claim.service.js';
import { ClaimStore, DELIVERY_REDIS } from './claims/claim.store.js';
import { DELIVERY_CONFIG, type DeliveryConfig } from './config/delivery.config.js';
import { DeliveryHandlers } from './delivery.handlers.js';
import { ProviderClient } from './provider/provider.client.js';

@Module({})
export class DeliveryModule implements OnApplicationShutdown {
  constructor(@Inject(DELIVERY_REDIS) private readonly redis: Redis) {}

  static register(config: DeliveryConfig): DynamicModule {
    return {
      module: DeliveryModule,
      controllers: [DeliveryHandlers, HealthController],
      providers: [
        { provide: DELIVERY_CONFIG, useValue: config },
        { provide: RedisKeys, useValue: new RedisKeys(config.redisPrefix) },
        { provide: DELIVERY_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-delivery') },
        { provide: ReadinessChecks, useFactory: (redis: Redis) => new ReadinessChecks({ redis: redisPing(redis) }), inject: [DELIVERY_REDIS] },
        { provide: ProviderClient, useFactory: () => new ProviderClient(config.providerTimeoutMs, config.providerConnectTimeoutMs) },
        ClaimStore,
        ClaimService,
        ActivityStore,
        PublishService,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}
