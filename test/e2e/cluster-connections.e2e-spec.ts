import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { closeRedis, createRedis, FlagCache } from '@app/platform';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';
import { startRedisCluster, type LocalRedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(60_000);

// The connection factory against a real local Redis Cluster (3 masters) and a real Sentinel: the
// pieces every app relies on, one by one (scripts, hash tags, pub/sub published from Lua, flags).
describe('Redis Cluster and Sentinel connections (createRedis)', () => {
  let cluster: LocalRedisCluster;
  const open: Redis[] = [];
  const connect = (name: string, url = cluster.url) => {
    const redis = createRedis(url, name);
    open.push(redis);
    return redis;
  };

  beforeAll(async () => {
    // The factory logs connection changes through Nest's logger; here they would only be noise.
    Logger.overrideLogger(['error']);
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await Promise.all(open.map((r) => closeRedis(r)));
    await cluster?.stop();
  });

  /** A key tag `{<prefix><n>}` whose slot is served by each master, one per master. */
  async function tagPerMaster(prefix: string): Promise<string[]> {
    const masters = await cluster.masters();
    const found = new Map<number, string>();
    for (let n = 0; n < 500 && found.size < masters.length; n++) {
      const { port } = await cluster.masterOf(`{${prefix}${n}}`);
      if (!found.has(port)) found.set(port, `{${prefix}${n}}`);
    }
    expect(found.size).toBe(3);
    return [...found.values()];
  }

  it('is a Cluster for redis+cluster:// and reaches keys on every master', async () => {
    const redis = connect('spec-cluster');
    expect((redis as unknown as { isCluster: boolean }).isCluster).toBe(true);
    const tags = await tagPerMaster('k');
    await Promise.all(tags.map((t) => redis.set(`spec:${t}:v`, t)));
    expect(await Promise.all(tags.map((t) => redis.get(`spec:${t}:v`)))).toEqual(tags);
  });

  it('runs a defined script over keys of one hash tag, and the cluster refuses keys of two slots', async () => {
    const redis = connect('spec-scripts') as Redis & { specMove(a: string, b: string, n: number): Promise<number> };
    redis.defineCommand('specMove', { numberOfKeys: 2, lua: `redis.call('DECRBY', KEYS[1], ARGV[1]) return redis.call('INCRBY', KEYS[2], ARGV[1])` });
    expect(await redis.specMove('spec:{g:1}:a', 'spec:{g:1}:b', 3)).toBe(3);
    // Without a shared tag the two keys (almost surely) live in different slots: CROSSSLOT.
    await expect(redis.specMove('spec:x-a', 'spec:x-b', 1)).rejects.toThrow(/CROSSSLOT|same slot/);
  });

  it('delivers a PUBLISH made inside a Lua script on any master to a subscriber of the cluster', async () => {
    const subscriber = connect('spec-sub');
    const publisher = connect('spec-pub') as Redis & { specPublish(key: string, channel: string, msg: string): Promise<number> };
    publisher.defineCommand('specPublish', { numberOfKeys: 1, lua: `redis.call('SET', KEYS[1], ARGV[2]) redis.call('PUBLISH', ARGV[1], ARGV[2]) return 1` });
    const got: string[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === 'spec:events') got.push(message);
    });
    await subscriber.subscribe('spec:events');
    const tags = await tagPerMaster('o');
    // One script per master: whichever node the subscriber sits on, two of three publish elsewhere.
    for (const tag of tags) await publisher.specPublish(`spec:${tag}:order`, 'spec:events', tag);
    await waitFor(() => got.length === 3, { timeoutMs: 3_000, what: 'three messages' });
    expect(got.sort()).toEqual([...tags].sort());
  });

  it('propagates a flag between two FlagCaches (each with its own subscriber) within a second', async () => {
    const keys = new RedisKeys('spec-flags');
    const a = new FlagCache(connect('spec-flags-a'), connect('spec-flags-a-sub'), keys);
    const b = new FlagCache(connect('spec-flags-b'), connect('spec-flags-b-sub'), keys);
    await Promise.all([a.start(), b.start()]);
    try {
      const t0 = Date.now();
      await a.set('delivery.forceAsync', true);
      await waitFor(() => b.isEnabled('delivery.forceAsync'), { timeoutMs: 1_000, intervalMs: 10, what: 'flag on b' });
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      a.stop();
      b.stop();
    }
  });

  it('connects through Sentinel to the master it names (redis+sentinel://)', async () => {
    const master = await startRedisServer();
    const sentinelPort = await freePort();
    const conf = join(master.dir, 'sentinel.conf');
    writeFileSync(conf, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${master.dir}`, `sentinel monitor spec-master 127.0.0.1 ${master.port} 1`, ''].join('\n'));
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    try {
      const pings = () => new Promise<boolean>((resolve) => {
        const cli = spawn('redis-cli', ['-p', String(sentinelPort), 'PING'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        cli.stdout.on('data', (d) => (out += d));
        cli.once('exit', () => resolve(out.includes('PONG')));
      });
      await waitFor(pings, { timeoutMs: 10_000, what: 'sentinel' });
      const redis = connect('spec-sentinel', `redis+sentinel://127.0.0.1:${sentinelPort}/spec-master`);
      await waitFor(async () => (await redis.set('spec:sentinel', 'yes')) === 'OK', { timeoutMs: 10_000, what: 'write through sentinel' });
      const direct = createRedis(master.url, 'spec-direct');
      expect(await direct.get('spec:sentinel')).toBe('yes');
      await closeRedis(direct);
      await closeRedis(redis);
    } finally {
      const exited = new Promise((r) => sentinel.once('exit', r));
      sentinel.kill('SIGKILL');
      await exited;
      await master.stop();
    }
  });
});
