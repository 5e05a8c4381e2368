import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeOnSignals, createLogger, Metrics, readyEvent } from '@app/platform';
import { loadAnalyzerConfig } from './analyzer.config.js';
import { AnalyzerModule } from './analyzer.module.js';

/**
 * The analyzer: counts the report stream into PostgreSQL (per minute × activity × gift × provider)
 * and evaluates burn-rate alerts per activity. Any number may run; each joins the consumer group.
 * Config is loaded first, so a bad value exits 1 with one line before anything connects.
 */
void (async () => {
  const config = loadAnalyzerConfig();
  const logger = createLogger('analyzer', config.logLevel);
  const nest = await NestFactory.create<NestFastifyApplication>(AnalyzerModule.register(config), new FastifyAdapter(), { logger });
  nest.get(Metrics).instrumentHttp(nest.getHttpAdapter().getInstance());
  await nest.listen(config.httpPort, config.host);
  closeOnSignals('analyzer', nest, logger);
  logger.log(readyEvent('analyzer', { httpPort: config.httpPort }));
})().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
