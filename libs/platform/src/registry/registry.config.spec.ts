import { hostname } from 'node:os';
import { ConfigError, EnvReader, loadRegistryConfig, readRelease } from '@app/platform';

describe('loadRegistryConfig', () => {
  it('advertises the bind host and TCP port with a 5 s TTL by default', () => {
    expect(loadRegistryConfig('query', {}, '127.0.0.1', 4001)).toEqual({ isEnabled: true, address: '127.0.0.1:4001', ttlMs: 5_000 });
  });

  it('advertises the host name for a wildcard bind, or ADVERTISE_HOST when set', () => {
    expect(loadRegistryConfig('query', {}, '0.0.0.0', 4001).address).toBe(`${hostname()}:4001`);
    expect(loadRegistryConfig('query', { ADVERTISE_HOST: 'query-1.internal' }, '0.0.0.0', 4001).address).toBe('query-1.internal:4001');
    expect(loadRegistryConfig('query', { REGISTRY_ENABLED: 'false', REGISTRY_TTL_MS: '2000' }, '127.0.0.1', 1)).toMatchObject({ isEnabled: false, ttlMs: 2_000 });
  });

  it('names every bad variable', () => {
    let caught: unknown;
    try {
      loadRegistryConfig('delivery', { ADVERTISE_HOST: 'bad host', REGISTRY_TTL_MS: '10', REGISTRY_ENABLED: 'maybe' }, '127.0.0.1', 4101);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(String((caught as Error).message)).toMatch(/^Invalid delivery config: ADVERTISE_HOST .*REGISTRY_ENABLED .*REGISTRY_TTL_MS/);
  });
});

describe('readRelease', () => {
  const read = (env: NodeJS.ProcessEnv) => {
    const reader = new EnvReader(env);
    const release = readRelease(reader);
    reader.finish('delivery');
    return release;
  };

  it('is stable by default and takes any 1-32 characters of [A-Za-z0-9._-]', () => {
    expect(read({})).toBe('stable');
    expect(read({ RELEASE: 'canary-1' })).toBe('canary-1');
    expect(read({ RELEASE: 'v2.3.1_rc.4' })).toBe('v2.3.1_rc.4');
  });

  it('refuses anything else with one line naming RELEASE', () => {
    for (const bad of ['has space', 'a/b', 'x'.repeat(33)]) {
      expect(() => read({ RELEASE: bad })).toThrow(/Invalid delivery config: RELEASE/);
    }
  });
});
