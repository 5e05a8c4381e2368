import { type DatabaseConfig, deepFreeze, EnvReader, readCommonConfig, readRelease, readDatabaseConfig, type CommonConfig } from '@app/platform';

export type QueryConfig = Readonly<
  CommonConfig & {
    /** Interface the TCP transport and HTTP port bind to. Default 127.0.0.1. */
    host: string;
    tcpPort: number;
    httpPort: number;
    /** The release this instance runs (`RELEASE`, 1-32 of `[A-Za-z0-9._-]`): gateways route by it during a gray release. Default `stable`. */
    release: string;
    /** Test-only fault: added latency per handled message, in ms. Default 0. */
    faultDelayMs: number;
    /** Test-only fault: added latency of `gift.recommend` only, in ms (`FAULT_RECOMMENDATIONS_DELAY_MS`). Default 0. */
    faultRecommendationsDelayMs: number;
    /** The system of record, read for archived orders (`DATABASE_URL`, `DATABASE_SCHEMA`); no URL: Redis only. */
    database: Readonly<DatabaseConfig>;
  }
>;

export const QUERY_CONFIG = Symbol('QUERY_CONFIG');

export function loadQueryConfig(env: NodeJS.ProcessEnv = process.env): QueryConfig {
  const reader = new EnvReader(env);
  const config = {
    ...readCommonConfig(reader),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    tcpPort: reader.int('TCP_PORT', { min: 1, max: 65535, fallback: 4001 }),
    httpPort: reader.int('HTTP_PORT', { min: 1, max: 65535, fallback: 4051 }),
    release: readRelease(reader),
    faultDelayMs: reader.int('FAULT_DELAY_MS', { min: 0, max: 600_000, fallback: 0 }),
    faultRecommendationsDelayMs: reader.int('FAULT_RECOMMENDATIONS_DELAY_MS', { min: 0, max: 600_000, fallback: 0 }),
    database: readDatabaseConfig(reader),
  };
  reader.finish('query');
  return deepFreeze(config);
}
