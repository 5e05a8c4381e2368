import { Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, HealthController, Metrics, MetricsController, ReadinessChecks, redisPing } from '@app/platform';
import { AdminHandlers } from './admin/admin.handlers.js';
import { AdminRepository } from './admin/admin.repository.js';
import { AnalyticsHandlers } from './admin/analytics.handlers.js';
import { QueryArchive } from './archive/query-archive.js';
import { QUERY_CONFIG, type QueryConfig } from './config/query.config.js';
import { QueryHandlers } from './query.handlers.js';
import { QUERY_REDIS, QueryRepository } from './query.repository.js';

@Module({})
export class QueryModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(QUERY_REDIS) private readonly redis: Redis,
    private readonly archive: QueryArchive,
  ) {}

  onApplicationBootstrap(): void {
    this.archive.start();
  }

  static register(config: QueryConfig): DynamicModule {
    return {
      module: QueryModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 })],
      controllers: [QueryHandlers, AdminHandlers, AnalyticsHandlers, HealthController, MetricsController],
      providers: [
        { provide: QUERY_CONFIG, useValue: config },
        { provide: Metrics, useValue: new Metrics('query') },
        { provide: RedisKeys, useValue: new RedisKeys(config.redisPrefix) },
        { provide: QUERY_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-query') },
        { provide: ReadinessChecks, useFactory: (redis: Redis) => new ReadinessChecks({ redis: redisPing(redis) }), inject: [QUERY_REDIS] },
        { provide: QueryArchive, useValue: new QueryArchive(config.database) },
        QueryRepository,
        AdminRepository,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.archive.close();
    await closeRedis(this.redis);
  }
}
