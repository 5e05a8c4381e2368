export * from './config/env-reader.js';
export * from './config/common.config.js';
export * from './redis/redis.factory.js';
export * from './logging/json.logger.js';
export * from './health/health.controller.js';
export * from './health/readiness.checks.js';
export * from './bootstrap/start-service.js';
export * from './flags/flag.cache.js';
