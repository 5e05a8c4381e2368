import { EnvReader } from './env-reader.js';

/** Settings every app reads the same way. */
export interface CommonConfig {
  redisUrl: string;
  /** Namespace of every Redis key and of the BullMQ queues. Default `rp`. */
  redisPrefix: string;
  /** Minimum log level: `debug`, `log`, `warn` or `error`. Default `log`. */
  logLevel: LogLevelName;
}
export const LogLevels = ['debug', 'log', 'warn', 'error'] as const;
export type LogLevelName = (typeof LogLevels)[number];

export function readCommonConfig(env: EnvReader): CommonConfig {
  return {
    redisUrl: env.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379'),
    redisPrefix: env.string('REDIS_PREFIX', { fallback: 'rp', pattern: /^[A-Za-z0-9_-]{1,32}$/, hint: '1-32 characters of [A-Za-z0-9_-]' }),
    logLevel: env.string('LOG_LEVEL', { fallback: 'log', pattern: /^(debug|log|warn|error)$/, hint: 'debug, log, warn or error' }) as LogLevelName,
  };
}
