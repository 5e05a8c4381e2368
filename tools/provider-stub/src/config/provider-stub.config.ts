import { deepFreeze, EnvReader } from '@app/platform';
import { FAULT_MODES, isFaultMode, MAX_LATENCY_MS, NO_FAULTS, type FaultSettings } from '../fault-settings.js';

export type ProviderStubConfig = Readonly<{
  /** HTTP port. Default 7001. */
  port: number;
  /** Interface to bind. Default 127.0.0.1. */
  host: string;
  /** Whether a repeated orderId is the same delivery. Default true. */
  orderNumbers: boolean;
  /** Faults from start-up: FAULT_LATENCY_MS, FAULT_ERROR_RATE, FAULT_REJECT_RATE, FAULT_MODE. Default none. */
  faults: FaultSettings;
}>;

/** Reads the stub's environment; throws one ConfigError naming every bad variable. */
export function loadProviderStubConfig(env: NodeJS.ProcessEnv = process.env): ProviderStubConfig {
  const reader = new EnvReader(env);
  const mode = reader.string('FAULT_MODE', { fallback: NO_FAULTS.mode, pattern: new RegExp(`^(${FAULT_MODES.join('|')})$`), hint: `one of ${FAULT_MODES.join(', ')}` });
  const config = {
    port: reader.int('PORT', { min: 0, max: 65535, fallback: 7001 }),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    orderNumbers: reader.boolean('ORDER_NUMBERS', true),
    faults: {
      latencyMs: reader.int('FAULT_LATENCY_MS', { min: 0, max: MAX_LATENCY_MS, fallback: 0 }),
      errorRate: reader.number('FAULT_ERROR_RATE', { min: 0, max: 1, fallback: 0 }),
      rejectRate: reader.number('FAULT_REJECT_RATE', { min: 0, max: 1, fallback: 0 }),
      mode: isFaultMode(mode) ? mode : NO_FAULTS.mode,
    },
  };
  reader.finish('provider-stub');
  return deepFreeze(config);
}
