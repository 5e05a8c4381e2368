import { ConfigError, EnvReader } from './env-reader.js';

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
