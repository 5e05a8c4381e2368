import { deepFreeze, EnvReader, readCommonConfig, type CommonConfig } from '@app/platform';

/** An allowed browser origin: `scheme://host[:port]`, where the port may be `*` (any port). */
const ORIGIN_PATTERN = /^https?:\/\/(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}|\*))?$/;

export type GatewayConfig = Readonly<
  CommonConfig & {
    /** Interface the HTTP server binds to. Default 127.0.0.1. */
    host: string;
    /** HTTP port. Default 3000. */
    port: number;
    /** `host:port` TCP addresses of the query instances. */
    queryUpstreams: readonly string[];
    /** `host:port` TCP addresses of the delivery instances. */
    deliveryUpstreams: readonly string[];
    /** HS256 secret of user tokens (at least 32 bytes). Never logged. */
    jwtSecret: string;
    /** Bearer token of `/admin/*` (at least 24 characters). Never logged. */
    adminToken: string;
    /** Origins allowed to call `/api/*` from a browser; a port may be `*`. Default none. */
    corsOrigins: readonly string[];
    timeouts: Readonly<{
      /** Budget of a read call to a service, in ms. Default 300. */
      fastMs: number;
      /** Budget of a claim or publish call, in ms. Default 3000. */
      slowMs: number;
    }>;
    /** Largest request body accepted, in bytes. Default 16384. */
    bodyLimitBytes: number;
  }
>;

/** Injection token of the frozen {@link GatewayConfig}. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/**
 * Reads and checks the gateway's environment once, at start-up.
 * @throws ConfigError naming every bad variable (secrets by name only).
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const reader = new EnvReader(env);
  const corsOrigins = reader.list('CORS_ORIGINS', '');
  const badOrigins = corsOrigins.filter((origin) => !ORIGIN_PATTERN.test(origin));
  if (badOrigins.length) {
    reader.problems.push(`CORS_ORIGINS must be comma-separated http(s)://host[:port|:*] origins (bad: "${badOrigins.join('", "')}")`);
  }
  const config = {
    ...readCommonConfig(reader),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    port: reader.int('PORT', { min: 1, max: 65535, fallback: 3000 }),
    queryUpstreams: reader.addresses('QUERY_UPSTREAMS', '127.0.0.1:4001,127.0.0.1:4002'),
    deliveryUpstreams: reader.addresses('DELIVERY_UPSTREAMS', '127.0.0.1:4101,127.0.0.1:4102'),
    jwtSecret: reader.secret('JWT_SECRET', { minLength: 32 }),
    adminToken: reader.secret('ADMIN_TOKEN', { minLength: 24 }),
    corsOrigins,
    timeouts: {
      fastMs: reader.int('TIMEOUT_FAST_MS', { min: 1, max: 60_000, fallback: 300 }),
      slowMs: reader.int('TIMEOUT_SLOW_MS', { min: 1, max: 600_000, fallback: 3_000 }),
    },
    bodyLimitBytes: reader.int('BODY_LIMIT_BYTES', { min: 1_024, max: 10_485_760, fallback: 16_384 }),
  };
  reader.finish('gateway');
  return deepFreeze(config);
}
