import { deepFreeze, EnvReader, readCommonConfig, type CommonConfig } from '@app/platform';

export type DeliveryConfig = Readonly<
  CommonConfig & {
    /** Interface the TCP transport and HTTP port bind to. Default 127.0.0.1. */
    host: string;
    tcpPort: number;
    httpPort: number;
    /** Time a provider has to answer a delivery once the request is sent, in ms. Default 2000. */
    providerTimeoutMs: number;
    /** Time for a connection to a provider to open, in ms. Default 500. */
    providerConnectTimeoutMs: number;
    /** Uncertain orders a user may hold per gift before claims of it get 429. Default 2. */
    uncertainLimit: number;
    /** How long a repeated claim waits for the concurrent first one to settle, in ms. Default 2500. */
    claimSettleWaitMs: number;
  }
>;

export const DELIVERY_CONFIG = Symbol('DELIVERY_CONFIG');

export function loadDeliveryConfig(env: NodeJS.ProcessEnv = process.env): DeliveryConfig {
  const reader = new EnvReader(env);
  const config = {
    ...readCommonConfig(reader),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    tcpPort: reader.int('TCP_PORT', { min: 1, max: 65535, fallback: 4101 }),
    httpPort: reader.int('HTTP_PORT', { min: 1, max: 65535, fallback: 4151 }),
    providerTimeoutMs: reader.int('PROVIDER_TIMEOUT_MS', { min: 10, max: 60_000, fallback: 2_000 }),
    providerConnectTimeoutMs: reader.int('PROVIDER_CONNECT_TIMEOUT_MS', { min: 10, max: 30_000, fallback: 500 }),
    uncertainLimit: reader.int('UNCERTAIN_LIMIT', { min: 1, max: 1_000, fallback: 2 }),
    claimSettleWaitMs: reader.int('CLAIM_SETTLE_WAIT_MS', { min: 0, max: 60_000, fallback: 2_500 }),
  };
  reader.finish('delivery');
  return deepFreeze(config);
}
