import { parseRedisUrl, redactRedisUrl, RedisUrlError } from './redis-url.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379'],
    ['rediss://user:secret@redis.example.com:6380/2'],
    ['redis://redis'],
  ])('keeps a single-server URL as it is: %s', (url) => {
    expect(parseRedisUrl(url)).toEqual({ kind: 'single', url });
  });

  it('parses a cluster URL into seed nodes, with credentials and TLS', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,redis-2.redis.ns.svc.cluster.local:7002')).toEqual({
      kind: 'cluster',
      tls: false,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'redis-2.redis.ns.svc.cluster.local', port: 7002 },
      ],
    });
    expect(parseRedisUrl('rediss+cluster://app:p%40ss@[::1]:7000/')).toEqual({
      kind: 'cluster',
      tls: true,
      username: 'app',
      password: 'p@ss',
      nodes: [{ host: '::1', port: 7000 }],
    });
  });

  it('parses a sentinel URL into sentinels, master name, db and passwords', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26379/mymaster/3?sentinelPassword=spw')).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }],
      masterName: 'mymaster',
      db: 3,
      password: 'pw',
      sentinelPassword: 'spw',
      tls: false,
    });
    expect(parseRedisUrl('rediss+sentinel://s1:26379/main')).toMatchObject({ kind: 'sentinel', masterName: 'main', db: 0, tls: true });
  });

  it.each([
    ['http://127.0.0.1:6379', 'must be a redis://'],
    ['redis+cluster://', 'must be a redis://'],
    ['redis+cluster://a:1,,b:2', 'cluster nodes'],
    ['redis+cluster://a:1,b', 'cluster nodes'],
    ['redis+cluster://a:70000', 'cluster nodes'],
    ['redis+cluster://a:1/2', 'no path'],
    ['redis+cluster://a:1?x=1', 'no query'],
    ['redis+sentinel://s1:26379', '/<masterName>'],
    ['redis+sentinel://s1:26379/', '/<masterName>'],
    ['redis+sentinel://s1:26379/m/x', '/<masterName>[/<db>]'],
    ['redis+sentinel://s1:26379/m/1/2', '/<masterName>[/<db>]'],
    ['redis+sentinel://s1:26379/m?foo=1', 'unknown sentinel URL parameter "foo"'],
    ['redis+sentinel://s1/m', 'sentinels'],
    ['redis://has space', 'not a valid'],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });
});

describe('redactRedisUrl', () => {
  it('hides passwords of every form and leaves other URLs alone', () => {
    expect(redactRedisUrl('redis://user:secret@h:1')).toBe('redis://user:***@h:1');
    expect(redactRedisUrl('redis+cluster://:secret@a:1,b:2')).toBe('redis+cluster://:***@a:1,b:2');
    expect(redactRedisUrl('redis+sentinel://s:1/m')).toBe('redis+sentinel://s:1/m');
  });
});
