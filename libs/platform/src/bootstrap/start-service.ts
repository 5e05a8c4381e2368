import 'reflect-metadata';
import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CommonConfig } from '../config/common.config.js';
import { createLogger, readyEvent } from '../logging/json.logger.js';

/**
 * Graceful stop on SIGTERM/SIGINT: `close()` stops accepting, lets in-flight requests finish and
 * runs every module's shutdown hook (queues, Redis); then exit 0. A second signal exits at once.
 */
export function closeOnSignals(app: string, nest: INestApplication, logger: LoggerService): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    logger.log({ event: 'app.stopping', app, signal });
    nest.close().then(
      () => {
        logger.log({ event: 'app.stopped', app });
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ event: 'app.stop-failed', app, error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** What a TCP service (query, delivery) needs to start. */
export interface ServiceConfig extends CommonConfig {
  host: string;
  tcpPort: number;
  httpPort: number;
}

/**
 * Starts a hybrid service: the TCP microservice the gateway calls, and an HTTP port for health
 * and metrics. Loads config first, so a bad value exits 1 with one line before any port opens.
 * SIGTERM closes the TCP server and HTTP port (finishing in-flight work), then module shutdown hooks.
 */
export function startService<C extends ServiceConfig>(app: string, loadConfig: () => C, module: (config: C) => DynamicModule): void {
  void (async () => {
    const config = loadConfig();
    const logger = createLogger(app, config.logLevel);
    const nest = await NestFactory.create<NestFastifyApplication>(module(config), new FastifyAdapter(), { logger });
    nest.connectMicroservice({ transport: Transport.TCP, options: { host: config.host, port: config.tcpPort } }, { inheritAppConfig: true });
    await nest.startAllMicroservices();
    await nest.listen(config.httpPort, config.host);
    closeOnSignals(app, nest, logger);
    logger.log(readyEvent(app, { tcpPort: config.tcpPort, httpPort: config.httpPort }));
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
