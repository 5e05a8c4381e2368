import { ConfigError, EnvReader, isPlaceholderSecret } from './env-reader.js';

describe('EnvReader.redisUrl', () => {
  const read = (value: string | undefined) => {
    const reader = new EnvReader({ REDIS_URL: value });
    const url = reader.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379');
    return { url, problems: reader.problems };
  };

  it('uses the fallback when unset', () => {
    expect(read(undefined)).toEqual({ url: 'redis://127.0.0.1:6379', problems: [] });
  });

  it.each([
    'redis://10.0.0.5:6379/1',
    'rediss://user:pw@redis.example.com:6380',
    'redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002',
    'rediss+cluster://:pw@redis-0.redis:6379',
    'redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster',
    'redis+sentinel://:pw@s1:26379/mymaster/2?sentinelPassword=x',
  ])('accepts %s', (url) => {
    expect(read(url)).toEqual({ url, problems: [] });
  });

  it.each([
    ['http://nope', 'REDIS_URL must be a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL (got "http://nope")'],
    ['redis+cluster://a:1,b', 'REDIS_URL must list comma-separated host:port cluster nodes (got "redis+cluster://a:1,b")'],
    ['redis+sentinel://s1:26379', 'REDIS_URL a sentinel URL must end with /<masterName> (got "redis+sentinel://s1:26379")'],
  ])('names the variable and the problem for %s', (url, problem) => {
    expect(read(url).problems).toEqual([problem]);
  });

  it('never echoes a password', () => {
    const { problems } = read('redis+cluster://:hunter2@a:1,b');
    expect(problems[0]).toContain('redis+cluster://:***@a:1,b');
    expect(problems[0]).not.toContain('hunter2');
  });

  it('reports through finish() together with other problems', () => {
    const reader = new EnvReader({ REDIS_URL: 'redis+cluster://x', PORT: 'abc' });
    reader.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379');
    reader.int('PORT', { min: 1, max: 65535, fallback: 3000 });
    expect(() => reader.finish('gateway')).toThrow(ConfigError);
    expect(() => reader.finish('gateway')).toThrow(/REDIS_URL .*; PORT must be/);
  });
});

describe('EnvReader.secret', () => {
  const read = (value: string | undefined, minLength = 32) => {
    const reader = new EnvReader({ JWT_SECRET: value });
    const secret = reader.secret('JWT_SECRET', { minLength });
    return { secret, problems: reader.problems };
  };
  const PLACEHOLDER = 'JWT_SECRET is a placeholder, not a secret: set a random value (e.g. openssl rand -hex 32)';

  it('accepts a random value of the minimum length', () => {
    const value = '3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e';
    expect(read(value)).toEqual({ secret: value, problems: [] });
  });

  it('requires a value and a minimum length in bytes', () => {
    expect(read(undefined).problems).toEqual(['JWT_SECRET is required']);
    expect(read('  ').problems).toEqual(['JWT_SECRET is required']);
    expect(read('3f9a1c7e5b2d8f4a').problems).toEqual(['JWT_SECRET must be at least 32 characters']);
  });

  it.each([
    ['the shipped Kubernetes placeholder', 'replace-me-with-at-least-32-random-bytes'],
    ['replace_me in capitals', 'REPLACE_ME_0123456789abcdef0123456789'],
    ['change-me', 'please-change-me-0123456789abcdef0123'],
    ['changeme', 'changeme0123456789abcdef0123456789ab'],
    ['CHANGE ME with a space', 'CHANGE ME 0123456789abcdef0123456789'],
    ['placeholder', 'a-placeholder-secret-of-many-characters'],
    ['example', 'example.secret.0123456789abcdef0123456'],
    ['one repeated character', 'x'.repeat(64)],
    ['one repeated multi-byte character', 'é'.repeat(32)],
  ])('refuses %s with one line naming the variable, never the value', (_, value) => {
    const { problems } = read(value);
    expect(problems).toEqual([PLACEHOLDER]);
    expect(problems.join()).not.toContain(value);
  });

  it('refuses a short placeholder as a placeholder (one line, not two)', () => {
    expect(read('changeme').problems).toEqual([PLACEHOLDER]);
  });

  it('reports through finish() in the one start-up line, with the other problems', () => {
    const reader = new EnvReader({ JWT_SECRET: 'replace-me-with-at-least-32-random-bytes', SERVICE_TOKEN: 's'.repeat(40), PORT: 'abc' });
    reader.secret('JWT_SECRET', { minLength: 32 });
    reader.secret('SERVICE_TOKEN', { minLength: 32 });
    reader.int('PORT', { min: 1, max: 65535, fallback: 3000 });
    expect(() => reader.finish('gateway')).toThrow(
      'Invalid gateway config: JWT_SECRET is a placeholder, not a secret: set a random value (e.g. openssl rand -hex 32); ' +
        'SERVICE_TOKEN is a placeholder, not a secret: set a random value (e.g. openssl rand -hex 32); PORT must be an integer 1-65535 (got "abc")',
    );
  });

  it.each(['a1b2c3d4e5f60718293a4b5c6d7e8f90', 'ab', 'Exampl3-is-not-a-word-here-0123456789', 'xxxxxxxxy'])('isPlaceholderSecret(%j) is false', (value) => {
    expect(isPlaceholderSecret(value)).toBe(false);
  });
});
