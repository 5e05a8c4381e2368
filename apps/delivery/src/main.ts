import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Transport } from '@nestjs/microservices';
import { createLogger, readyEvent } from '@app/platform';
import { loadDeliveryConfig } from './config/delivery.config.js';
import { DeliveryModule } from './delivery.module.js';

async function bootstrap(): Promise<void> {
  const config = loadDeliveryConfig();
  const logger = createLogger('delivery', config.logLevel);
  const app = await NestFactory.create<NestFastifyApplication>(DeliveryModule.register(config), new FastifyAdapter(), { logger });
  app.connectMicroservice({ transport: Transport.TCP, options: { host: config.host, port: config.tcpPort } }, { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.host);
  logger.log(readyEvent('delivery', { tcpPort: config.tcpPort, httpPort: config.httpPort }));
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
