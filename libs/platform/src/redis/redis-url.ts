/**
 * The forms `REDIS_URL` may take, parsed once so that validation (start-up) and connection
 * (`createRedis`) agree on what a URL means:
 *
 * - `redis://[user:pass@]host:port[/db]`, `rediss://...` one server (ioredis parses the URL itself);
 * - `redis+cluster://[user:pass@]host:port,host:port,...` Redis Cluster: the seed nodes (any
 *   reachable one is enough, the client learns the others and the slot map from it);
 *   `rediss+cluster://` the same over TLS;
 * - `redis+sentinel://[user:pass@]host:port,host:port/<masterName>[/db]` Sentinel: the sentinels
 *   and the name of the master they watch; `rediss+sentinel://` uses TLS to the data nodes.
 *   The password is the data nodes'; `?sentinelPassword=` sets the sentinels' own.
 */

/** One `host:port` seed (a cluster node or a sentinel). */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

export type RedisEndpoint =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: RedisNodeAddress[]; username?: string; password?: string; tls: boolean }
  | {
      kind: 'sentinel';
      sentinels: RedisNodeAddress[];
      masterName: string;
      db: number;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      tls: boolean;
    };

/** A `REDIS_URL` that is none of the accepted forms; the message says what is wrong. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

const MULTI = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^:@/\s]*)(?::([^@/\s]*))?@)?([^/?#\s]+)(\/[^?#\s]*)?(?:\?([^#\s]*))?$/;

/** Parses and checks a `REDIS_URL`; throws {@link RedisUrlError}. Secrets never appear in messages. */
export function parseRedisUrl(url: string): RedisEndpoint {
  if (/^rediss?:\/\//.test(url)) {
    if (/\s/.test(url) || !URL.canParse(url)) throw new RedisUrlError('is not a valid redis:// URL');
    return { kind: 'single', url };
  }
  const match = MULTI.exec(url);
  if (!match) throw new RedisUrlError('must be a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL');
  const [, scheme, kind, rawUser, rawPassword, hosts, rawPath = '', query = ''] = match;
  const nodes = hosts.split(',').map(parseNode);
  if (nodes.some((n) => !n)) throw new RedisUrlError(`must list comma-separated host:port ${kind === 'cluster' ? 'cluster nodes' : 'sentinels'}`);
  const credentials = {
    ...(rawUser ? { username: decodeURIComponent(rawUser) } : {}),
    ...(rawPassword ? { password: decodeURIComponent(rawPassword) } : {}),
  };
  const tls = scheme === 'rediss';
  const params = new URLSearchParams(query);
  if (kind === 'cluster') {
    if (rawPath !== '' && rawPath !== '/') throw new RedisUrlError('a cluster URL has no path (Redis Cluster has only database 0)');
    if ([...params.keys()].length) throw new RedisUrlError('a cluster URL takes no query parameters');
    return { kind: 'cluster', nodes: nodes as RedisNodeAddress[], tls, ...credentials };
  }
  const [masterName, db = '0', ...rest] = rawPath.replace(/^\//, '').split('/');
  if (!masterName || !/^[A-Za-z0-9._-]+$/.test(masterName)) throw new RedisUrlError('a sentinel URL must end with /<masterName>');
  if (rest.length || !/^\d{1,2}$/.test(db)) throw new RedisUrlError('a sentinel URL path is /<masterName>[/<db>]');
  const unknown = [...params.keys()].filter((k) => k !== 'sentinelPassword');
  if (unknown.length) throw new RedisUrlError(`unknown sentinel URL parameter "${unknown[0]}"`);
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return {
    kind: 'sentinel',
    sentinels: nodes as RedisNodeAddress[],
    masterName,
    db: Number(db),
    tls,
    ...credentials,
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

function parseNode(item: string): RedisNodeAddress | undefined {
  const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(item.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/** The URL with its password replaced by `***`, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/\s]*:)[^@/\s]*@/, '$1***@');
}
