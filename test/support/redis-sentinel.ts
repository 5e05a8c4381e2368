import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { isRunning as childRunning, redisCli, sigkill, waitReplicasCaughtUp } from './redis-nodes.js';
import { waitFor } from './wait-for.js';

/** A master, its replicas and the Sentinels watching them, as real processes on 127.0.0.1. */
export interface LocalSentinelGroup {
  /** `redis+sentinel://127.0.0.1:s1,.../<masterName>`. */
  url: string;
  masterName: string;
  /** Ports of the data nodes (master and replicas) and of the Sentinels. */
  dataPorts: number[];
  sentinelPorts: number[];
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** Waits until every replica of the master on `port` has everything the master had written when this was called. */
  waitReplicated(port: number, timeoutMs?: number): Promise<void>;
  /** SIGKILL one data node. */
  kill(port: number): Promise<void>;
  /**
   * Waits until the Sentinels name a master other than `oldPort` that is running and answers as
   * master (after a failover: the replica was promoted).
   */
  waitFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Stops every process and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalSentinelGroupOptions {
  /** Replicas of the master. Default 1. */
  replicas?: number;
  /** Sentinels (quorum is a majority). Default 3. */
  sentinels?: number;
  /** `down-after-milliseconds`: how long the master may not answer before it is judged down. Default 1000. */
  downAfterMs?: number;
}

interface Proc {
  port: number;
  child: ChildProcess;
}

/**
 * Starts a master (`--appendonly yes`), `replicas` replicas (`--replicaof`) and `sentinels`
 * Sentinels (`redis-server <conf> --sentinel`, `sentinel monitor <name> … <majority>`) on free
 * ports, each in its own temp dir, and waits until every replica has synced and every Sentinel
 * knows the replicas and the other Sentinels (so a failover can be voted).
 */
export async function startSentinelGroup(opts: LocalSentinelGroupOptions = {}): Promise<LocalSentinelGroup> {
  const replicas = opts.replicas ?? 1;
  const sentinelCount = opts.sentinels ?? 3;
  const downAfterMs = opts.downAfterMs ?? 1_000;
  const masterName = 'rampart';
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const dirs: string[] = [];
  const data: Proc[] = [];
  const sentinels: Proc[] = [];
  const isRunning = (p: Proc) => childRunning(p.child);
  const spawnRedis = (port: number, args: string[]): Proc => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-sentinel-'));
    dirs.push(dir);
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], { stdio: 'ignore' });
    return { port, child };
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...sentinels, ...data].map((p) => sigkill(p.child)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const sentinelView = async (port: number) => {
    const flat = (await redisCli(port, 'SENTINEL', 'MASTER', masterName)).split('\n');
    const view: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) view[flat[i]] = flat[i + 1];
    return view;
  };
  const namedMaster = async () => {
    for (const s of sentinels.filter(isRunning)) {
      const [, port] = (await redisCli(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)).split('\n');
      if (port) return Number(port);
    }
    throw new Error('no Sentinel answers');
  };

  try {
    const replication = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--repl-diskless-sync-delay', '0'];
    const masterPort = await freePort();
    data.push(spawnRedis(masterPort, replication));
    for (let i = 0; i < replicas; i++) data.push(spawnRedis(await freePort(), [...replication, '--replicaof', '127.0.0.1', String(masterPort)]));
    await Promise.all(data.map((p) => waitFor(async () => (await redisCli(p.port, 'PING')) === 'PONG', { timeoutMs: 10_000, what: `redis-server on ${p.port}` })));
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'rampart-sentinel-'));
      dirs.push(dir);
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} 10000`,
        '',
      ].join('\n'));
      sentinels.push({ port, child: spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }) });
    }
    await waitFor(
      async () => {
        for (const p of data.slice(1)) if (infoField(await redisCli(p.port, 'INFO', 'replication'), 'master_link_status') !== 'up') return false;
        for (const s of sentinels) {
          const view = await sentinelView(s.port);
          if (Number(view['num-slaves']) !== replicas || Number(view['num-other-sentinels']) !== sentinelCount - 1) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'replicas synced and Sentinels aware of each other' },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}`,
    masterName,
    dataPorts: data.map((p) => p.port),
    sentinelPorts: sentinels.map((s) => s.port),
    masterPort: namedMaster,
    waitReplicated: waitReplicasCaughtUp,
    kill: async (port) => {
      const p = data.find((d) => d.port === port);
      if (p) await sigkill(p.child);
    },
    waitFailover: async (oldPort, timeoutMs = 30_000) =>
      (await waitFor(
        async () => {
          const port = await namedMaster();
          const promoted = data.find((d) => d.port === port);
          if (port === oldPort || !promoted || !isRunning(promoted)) return undefined;
          return infoField(await redisCli(port, 'INFO', 'replication'), 'role') === 'master' ? port : undefined;
        },
        { timeoutMs, intervalMs: 200, what: `the Sentinels to promote a replica of ${oldPort}` },
      ))!,
    stop,
  };
}
