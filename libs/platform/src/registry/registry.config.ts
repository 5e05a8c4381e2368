import { hostname } from 'node:os';
import { RELEASE_PATTERN, STABLE_RELEASE } from '@app/routing';
import { EnvReader } from '../config/env-reader.js';

/**
 * `RELEASE`: the release (version label) this instance runs, reported through the registry and the
 * ping reply so that gateways route by it during a gray release. 1-32 characters of `[A-Za-z0-9._-]`;
 * default `stable`.
 */
export function readRelease(reader: EnvReader): string {
  return reader.string('RELEASE', { fallback: STABLE_RELEASE, pattern: RELEASE_PATTERN, hint: '1-32 characters of [A-Za-z0-9._-]' });
}

/** How a service instance registers itself for discovery. */
export interface RegistryConfig {
  /** Whether to register at all (`REGISTRY_ENABLED`). Default true. */
  isEnabled: boolean;
  /** `host:port` gateways should dial: `ADVERTISE_HOST` (default the bind host) and `TCP_PORT`. */
  address: string;
  /** Time after which a registration without heartbeat lapses, in ms (`REGISTRY_TTL_MS`). Default 5000. */
  ttlMs: number;
}

/**
 * Reads the registration settings once at start-up. A wildcard bind host (`0.0.0.0`, `::`) is
 * not dialable, so the machine's host name is advertised instead unless `ADVERTISE_HOST` is set.
 * @throws ConfigError naming every bad variable.
 */
export function loadRegistryConfig(app: string, env: NodeJS.ProcessEnv, bindHost: string, tcpPort: number): RegistryConfig {
  const reader = new EnvReader(env);
  const fallbackHost = bindHost === '0.0.0.0' || bindHost === '::' ? hostname() : bindHost;
  const host = reader.string('ADVERTISE_HOST', {
    fallback: fallbackHost,
    pattern: /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])$/,
    hint: 'a host name, IPv4 address or [IPv6] address',
  });
  const config = {
    isEnabled: reader.boolean('REGISTRY_ENABLED', true),
    address: `${host}:${tcpPort}`,
    ttlMs: reader.int('REGISTRY_TTL_MS', { min: 500, max: 600_000, fallback: 5_000 }),
  };
  reader.finish(app);
  return config;
}
