import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeOnSignals, createLogger, logRequests, Metrics, readyEvent } from '@app/platform';
import { loadGatewayConfig } from './config/gateway.config.js';
import { AdmissionGate } from './admission/admission.gate.js';
import { GatewayModule } from './gateway.module.js';
import { configureHttp, createGatewayAdapter } from './http/http-setup.js';

async function bootstrap(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger('gateway', config.logLevel);
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule.register(config), createGatewayAdapter(config), { logger });
  configureHttp(app, config);
  const fastify = app.getHttpAdapter().getInstance();
  if (config.resilience.admission.mode === 'adaptive') app.get(AdmissionGate).register(fastify);
  app.get(Metrics).instrumentHttp(fastify);
  logRequests(fastify, logger.pino);
  await app.listen(config.port, config.host);
  closeOnSignals('gateway', app, logger);
  logger.log(readyEvent('gateway', { port: config.port }));
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
