import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Transport } from '@nestjs/microservices';
import { createLogger, readyEvent } from '@app/platform';
import { loadQueryConfig } from './config/query.config.js';
import { QueryModule } from './query.module.js';

async function bootstrap(): Promise<void> {
  const config = loadQueryConfig();
  const logger = createLogger('query', config.logLevel);
  const app = await NestFactory.create<NestFastifyApplication>(QueryModule.register(config), new FastifyAdapter(), { logger });
  app.connectMicroservice({ transport: Transport.TCP, options: { host: config.host, port: config.tcpPort } }, { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.host);
  logger.log(readyEvent('query', { tcpPort: config.tcpPort, httpPort: config.httpPort }));
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
