import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { createRedis, Database, HealthController, Metrics, MetricsController, ReadinessChecks, redisPing } from '@app/platform';
import { ANALYZER_CONFIG, type AnalyzerConfig } from './analyzer.config.js';
import { AnalyzerRuntime, GIFTS_REDIS, STREAM_REDIS } from './analyzer.runtime.js';

/** The analyzer app: no TCP service, only its worker and an HTTP port for health and metrics. */
@Module({})
export class AnalyzerModule {
  static register(config: AnalyzerConfig): DynamicModule {
    return {
      module: AnalyzerModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', gracefulShutdownTimeoutMs: 0 })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: ANALYZER_CONFIG, useValue: config },
        { provide: Metrics, useValue: new Metrics('analyzer') },
        { provide: RedisKeys, useValue: new RedisKeys(config.redisPrefix) },
        { provide: GIFTS_REDIS, useFactory: () => createRedis(config.redisUrl, 'rampart-analyzer') },
        // XREADGROUP BLOCK holds its connection: a connection of its own.
        { provide: STREAM_REDIS, useFactory: () => createRedis(config.reportRedisUrl, 'rampart-analyzer-stream', { isBlocking: true }) },
        { provide: Database, useFactory: () => new Database(config.database) },
        {
          provide: ReadinessChecks,
          useFactory: (gifts: Redis, stream: Redis, db: Database, runtime: AnalyzerRuntime) =>
            new ReadinessChecks({
              redis: redisPing(gifts),
              reports: redisPing(stream),
              postgres: async () => (runtime.ready && (await db.ping()) ? 'ok' : 'not ready: PostgreSQL unreachable or not migrated'),
            }),
          inject: [GIFTS_REDIS, STREAM_REDIS, Database, AnalyzerRuntime],
        },
        AnalyzerRuntime,
      ],
    };
  }
}
