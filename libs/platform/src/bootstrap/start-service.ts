import 'reflect-metadata';
import type { Server, Socket } from 'node:net';
import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ServiceTcpServer } from './service-tcp.server.js';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CommonConfig } from '../config/common.config.js';
import { RedisKeys } from '@app/contracts';
import { createLogger, readyEvent } from '../logging/json.logger.js';
import { MessageMetricsInterceptor } from '../metrics/message-metrics.interceptor.js';
import { Metrics } from '../metrics/metrics.js';
import { RpcErrorsInterceptor } from './rpc-errors.interceptor.js';
import { ServiceAdmissionInterceptor } from './service-admission.interceptor.js';
import { ServiceAuthInterceptor } from './service-auth.interceptor.js';
import { createRedis, closeRedis } from '../redis/redis.factory.js';
import { InstanceRegistration } from '../registry/instance.registry.js';
import { loadRegistryConfig } from '../registry/registry.config.js';

/**
 * Graceful stop on SIGTERM/SIGINT: `beforeClose` (if any) runs first, then `close()` stops accepting, lets in-flight requests finish and
 * runs every module's shutdown hook (queues, Redis); then exit 0. A second signal exits at once.
 */
export function closeOnSignals(app: string, nest: INestApplication, logger: LoggerService, beforeClose?: () => Promise<void>): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    logger.log({ event: 'app.stopping', signal });
    // beforeClose (deregistration) first, so gateways stop sending before the ports close.
    (beforeClose ? beforeClose().catch(() => undefined) : Promise.resolve()).then(() => nest.close()).then(
      () => {
        logger.log({ event: 'app.stopped' });
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ event: 'app.stop-failed', error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** The instance door's limit, in-flight count and refusals, read at scrape time. */
function registerServiceAdmissionMetrics(metrics: Metrics, admission: ServiceAdmissionInterceptor): void {
  metrics.gauge('rampart_admission_limit', 'Adaptive concurrency limit (this service instance: upstream="self")', ['upstream'], () => [[{ upstream: 'self' }, admission.limit.limit]]);
  metrics.gauge('rampart_admission_inflight', 'Requests in flight under the admission limit', ['upstream'], () => [[{ upstream: 'self' }, admission.inFlight]]);
  metrics.counterFrom('rampart_service_dropped_total', 'User messages refused unhandled: their caller had given up (expired) or the instance was at its limit (shed)', ['reason'], () => [
    [{ reason: 'expired' }, admission.counters.expired],
    [{ reason: 'shed' }, admission.counters.shed],
  ]);
}

/**
 * Largest TCP frame a service accepts, in characters: the largest message (an activity's
 * configuration) is well under it; a bigger frame closes the connection instead of growing memory.
 */
const MAX_FRAME_CHARS = 1_048_576;

/** What a TCP service (query, delivery) needs to start. */
export interface ServiceConfig extends CommonConfig {
  host: string;
  tcpPort: number;
  httpPort: number;
  /** The release this instance runs (`RELEASE`, see `readRelease`): registered beside its address. */
  release: string;
}

/**
 * Starts a hybrid service: the TCP microservice the gateway calls, and an HTTP port for health
 * and metrics (the module must provide {@link Metrics} and register `MetricsController`). Loads config first, so a bad value exits 1 with one line before any port opens.
 * Once listening, the instance registers itself in Redis for discovery (`REGISTRY_*`,
 * `ADVERTISE_HOST`); SIGTERM deregisters it first, then closes the TCP server and HTTP port
 * (finishing in-flight work), then module shutdown hooks.
 */
export function startService<C extends ServiceConfig>(app: string, loadConfig: () => C, module: (config: C) => DynamicModule): void {
  void (async () => {
    const config = loadConfig();
    const registry = loadRegistryConfig(app, process.env, config.host, config.tcpPort);
    const logger = createLogger(app, config.logLevel);
    const nest = await NestFactory.create<NestFastifyApplication>(module(config), new FastifyAdapter(), { logger });
    // The module provides `Metrics` (its own metrics use it too); HTTP and TCP handling are counted here.
    const metrics = nest.get(Metrics);
    metrics.instrumentHttp(nest.getHttpAdapter().getInstance());
    // Outermost first: metrics see the Reply an exception was turned into; the service proof is
    // checked before any handler runs.
    // Then the instance's door: a message whose caller gave up, or beyond the adaptive limit, is refused unhandled.
    const admission = new ServiceAdmissionInterceptor();
    registerServiceAdmissionMetrics(metrics, admission);
    nest.useGlobalInterceptors(new MessageMetricsInterceptor(metrics), new RpcErrorsInterceptor(), new ServiceAuthInterceptor(config.serviceToken), admission);
    nest.connectMicroservice(
      {
        strategy: new ServiceTcpServer({
          host: config.host,
          port: config.tcpPort,
          maxBufferSize: MAX_FRAME_CHARS,
          ...(config.serviceTls.cert ? { tlsOptions: { cert: config.serviceTls.cert, key: config.serviceTls.key } } : {}),
        }),
      },
      { inheritAppConfig: true },
    );
    await nest.startAllMicroservices();
    // Answers are small and many go out at once on one connection: without TCP_NODELAY, Nagle's
    // algorithm holds each but the first until an ACK comes (~40 ms with delayed ACKs).
    for (const microservice of nest.getMicroservices()) {
      microservice.unwrap<Server>().on('connection', (socket: Socket) => socket.setNoDelay(true));
    }
    await nest.listen(config.httpPort, config.host);
    let deregister: (() => Promise<void>) | undefined;
    if (registry.isEnabled) {
      const redis = createRedis(config.redisUrl, `rampart-${app}-registry`);
      const registration = new InstanceRegistration(redis, new RedisKeys(config.redisPrefix), app, registry.address, registry.ttlMs, {
        log: (event) => logger.log(event),
        warn: (event) => logger.warn(event),
      }, config.release);
      await registration.start();
      deregister = async () => {
        await registration.stop();
        await closeRedis(redis);
      };
    }
    closeOnSignals(app, nest, logger, deregister);
    logger.log(readyEvent(app, { tcpPort: config.tcpPort, httpPort: config.httpPort, release: config.release }));
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
