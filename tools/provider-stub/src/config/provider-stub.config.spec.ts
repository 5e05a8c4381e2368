import { loadProviderStubConfig } from './provider-stub.config.js';

describe('loadProviderStubConfig', () => {
  it('has the documented defaults', () => {
    expect(loadProviderStubConfig({})).toEqual({
      port: 7001,
      host: '127.0.0.1',
      orderNumbers: true,
      faults: { latencyMs: 0, errorRate: 0, rejectRate: 0, mode: 'none' },
    });
  });

  it('reads every variable', () => {
    const env = { PORT: '0', HOST: '0.0.0.0', ORDER_NUMBERS: 'false', FAULT_LATENCY_MS: '50', FAULT_ERROR_RATE: '0.25', FAULT_REJECT_RATE: '0.1', FAULT_MODE: 'hang-first' };
    expect(loadProviderStubConfig(env)).toEqual({
      port: 0,
      host: '0.0.0.0',
      orderNumbers: false,
      faults: { latencyMs: 50, errorRate: 0.25, rejectRate: 0.1, mode: 'hang-first' },
    });
  });

  it('names every bad variable at once', () => {
    expect(() => loadProviderStubConfig({ PORT: 'x', FAULT_ERROR_RATE: '2', FAULT_MODE: 'sideways', ORDER_NUMBERS: 'maybe' })).toThrow(
      /provider-stub config: .*FAULT_MODE.*PORT.*ORDER_NUMBERS.*FAULT_ERROR_RATE/,
    );
  });
});
