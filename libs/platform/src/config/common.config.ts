import { readFileSync } from 'node:fs';
import { EnvReader } from './env-reader.js';

/** Settings every app reads the same way. */
export interface CommonConfig {
  redisUrl: string;
  /** Namespace of every Redis key and of the BullMQ queues. Default `rp`. */
  redisPrefix: string;
  /** Minimum log level: `debug`, `log`, `warn` or `error`. Default `log`. */
  logLevel: LogLevelName;
  /**
   * Shared secret of the gateway-to-service hop (at least 32 bytes): every message carries proof of
   * it, and a service acts on no message without. Required.
   */
  serviceToken: string;
  /**
   * Optional TLS on the gateway-to-service hop (PEM contents, read from the files named by
   * `SERVICE_TLS_CERT` and `SERVICE_TLS_KEY` on query and delivery, `SERVICE_TLS_CA` on the gateway,
   * which then verifies the services' certificates against it). Empty: plain TCP.
   */
  serviceTls: Readonly<{ cert?: string; key?: string; ca?: string }>;
}
export const LogLevels = ['debug', 'log', 'warn', 'error'] as const;
export type LogLevelName = (typeof LogLevels)[number];

export function readCommonConfig(env: EnvReader): CommonConfig {
  return {
    ...readRedisAndLogging(env),
    serviceToken: env.secret('SERVICE_TOKEN', { minLength: 32 }),
    serviceTls: readServiceTls(env),
  };
}

/** `REDIS_URL`, `REDIS_PREFIX`, `LOG_LEVEL`: what an app without the service hop (the analyzer) reads too. */
export function readRedisAndLogging(env: EnvReader): Pick<CommonConfig, 'redisUrl' | 'redisPrefix' | 'logLevel'> {
  return {
    redisUrl: env.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379'),
    redisPrefix: env.string('REDIS_PREFIX', { fallback: 'rp', pattern: /^[A-Za-z0-9_-]{1,32}$/, hint: '1-32 characters of [A-Za-z0-9_-]' }),
    logLevel: env.string('LOG_LEVEL', { fallback: 'log', pattern: /^(debug|log|warn|error)$/, hint: 'debug, log, warn or error' }) as LogLevelName,
  };
}

function readServiceTls(env: EnvReader): CommonConfig['serviceTls'] {
  const read = (name: string): string | undefined => {
    const path = env.string(name, { fallback: '' });
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      env.problems.push(`${name} must name a readable PEM file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}: "${path}")`);
      return undefined;
    }
  };
  const tls = { cert: read('SERVICE_TLS_CERT'), key: read('SERVICE_TLS_KEY'), ca: read('SERVICE_TLS_CA') };
  if (!tls.cert !== !tls.key) env.problems.push('SERVICE_TLS_CERT and SERVICE_TLS_KEY must be set together');
  return Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
}
