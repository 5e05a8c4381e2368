import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { isRunning, redisCli, sigkill, waitReplicasCaughtUp } from './redis-nodes.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

/** One redis-server of a local cluster. */
export interface ClusterNodeProcess {
  port: number;
  dir: string;
  child: ChildProcess;
  /** Whether the process still runs. */
  isRunning(): boolean;
}

/** A local Redis Cluster of real processes on 127.0.0.1, for tests and benches. */
export interface LocalRedisCluster {
  /** `redis+cluster://127.0.0.1:p1,...` (every node a seed). */
  url: string;
  nodes: ClusterNodeProcess[];
  /** `redis-cli` against one node, output trimmed. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The port of the master that serves `key`'s slot now (CLUSTER KEYSLOT + CLUSTER SHARDS). */
  masterOf(key: string): Promise<{ port: number; slot: number }>;
  /** The slot ranges the master on `port` serves now. */
  slotsOf(port: number): Promise<Array<[number, number]>>;
  /** Ports of the masters that serve at least one slot now, seen from a live node. */
  masters(): Promise<number[]>;
  /**
   * Waits until every replica of the master on `port` has received everything the master had
   * written when this was called (replication is asynchronous: a write acknowledged just before a
   * master dies may not have reached its replica yet).
   */
  waitReplicated(port: number, timeoutMs?: number): Promise<void>;
  /**
   * Moves every slot of the master on `fromPort` to the master on `toPort`, keys included, while
   * the cluster serves (`redis-cli --cluster reshard`: per slot IMPORTING/MIGRATING, MIGRATE, then
   * SETSLOT NODE): what an operator does to drain a master or rebalance after adding one.
   */
  moveAllSlots(fromPort: number, toPort: number): Promise<void>;
  /** SIGKILL one node (no shutdown, no AOF flush beyond `appendfsync everysec`). */
  kill(port: number): Promise<void>;
  /**
   * Waits until every live node reports `cluster_state:ok`, all 16384 slots are served by live
   * masters and every live replica has finished syncing from its master (`master_link_status:up`):
   * a replica promoted before its first sync would take over with no data.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalRedisClusterOptions {
  /** Masters. Default 3 (the least `redis-cli --cluster create` accepts). */
  masters?: number;
  /** Replicas per master. Default 0. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how long a master may be unreachable before its replica takes over. Default 2000. */
  nodeTimeoutMs?: number;
}

/**
 * Starts `masters × (1 + replicasPerMaster)` `redis-server --cluster-enabled yes --appendonly yes`
 * processes on free ports (client and bus port both picked free), each in its own temp dir, joins
 * them with `redis-cli --cluster create --cluster-replicas N --cluster-yes` and waits for
 * `cluster_state:ok` on every node and every replica synced ({@link LocalRedisCluster.waitHealthy}).
 * Replicas of a master are always on other processes.
 */
export async function startRedisCluster(opts: LocalRedisClusterOptions = {}): Promise<LocalRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2_000;
  const nodes: ClusterNodeProcess[] = [];
  const used = new Set<number>();
  const pick = async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      if (!used.has(port)) {
        used.add(port);
        return port;
      }
    }
    throw new Error('no free port');
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      nodes.map(async (n) => {
        await sigkill(n.child);
        rmSync(n.dir, { recursive: true, force: true });
      }),
    );
  };
  const live = () => nodes.filter((n) => n.isRunning());

  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await pick();
      const busPort = await pick();
      const dir = mkdtempSync(join(tmpdir(), 'rampart-cluster-'));
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs),
          '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
          // A replica's first sync starts at once (Redis waits 5 s by default for more replicas to join).
          '--repl-diskless-sync-delay', '0',
          // A replica may take over however long it was cut off: a test kills masters on purpose.
          '--cluster-replica-validity-factor', '0',
        ],
        { stdio: 'ignore' },
      );
      const node: ClusterNodeProcess = { port, dir, child, isRunning: () => isRunning(child) };
      nodes.push(node);
    }
    await Promise.all(nodes.map((n) => waitFor(async () => (await redisCli(n.port, 'PING')) === 'PONG', { timeoutMs: 10_000, what: `cluster node ${n.port}` })));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 });
  } catch (err) {
    await stop();
    throw err;
  }

  const shards = async () => {
    const from = live()[0];
    if (!from) throw new Error('no live cluster node');
    const client = new Redis({ host: '127.0.0.1', port: from.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      return parseShards((await client.call('CLUSTER', 'SHARDS')) as unknown[]);
    } finally {
      client.disconnect();
    }
  };

  const cluster: LocalRedisCluster = {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    cli: redisCli,
    masters: async () => (await shards()).filter((s) => s.slots.length && s.masterHealthy).map((s) => s.masterPort),
    slotsOf: async (port) => (await shards()).find((s) => s.masterPort === port)?.slots ?? [],
    masterOf: async (key) => {
      // Computed here, not asked of a node (a replica resyncing after a move answers LOADING).
      const slot = calculateSlot(key);
      const shard = (await shards()).find((s) => s.masterHealthy && s.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!shard) throw new Error(`no healthy master serves slot ${slot}`);
      return { port: shard.masterPort, slot };
    },
    waitReplicated: waitReplicasCaughtUp,
    moveAllSlots: async (fromPort, toPort) => {
      const count = (await cluster.slotsOf(fromPort)).reduce((n, [a, b]) => n + b - a + 1, 0);
      const [from, to] = await Promise.all([redisCli(fromPort, 'CLUSTER', 'MYID'), redisCli(toPort, 'CLUSTER', 'MYID')]);
      await run('redis-cli', [
        '--cluster', 'reshard', `127.0.0.1:${fromPort}`, '--cluster-from', from, '--cluster-to', to,
        '--cluster-slots', String(count), '--cluster-yes',
      ], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    },
    kill: async (port) => {
      const node = nodes.find((n) => n.port === port);
      if (node) await sigkill(node.child);
    },
    waitHealthy: async (timeoutMs = 30_000) => {
      await waitFor(
        async () => {
          for (const n of live()) {
            if (!(await redisCli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
            const replication = await redisCli(n.port, 'INFO', 'replication');
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
          }
          const served = (await shards())
            .filter((s) => s.masterHealthy && live().some((n) => n.port === s.masterPort))
            .reduce((sum, s) => sum + s.slots.reduce((k, [a, b]) => k + b - a + 1, 0), 0);
          return served === 16384;
        },
        { timeoutMs, intervalMs: 200, what: 'cluster_state:ok with every slot served' },
      );
    },
    stop,
  };
  try {
    await cluster.waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}

/** The cluster slot of a key (CRC16/XMODEM of the key or of its first non-empty `{hash tag}`, mod 16384). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

interface Shard {
  slots: Array<[number, number]>;
  masterPort: number;
  masterHealthy: boolean;
}

/** CLUSTER SHARDS (Redis 7): [ 'slots', [a, b, ...], 'nodes', [ [ 'id', .., 'port', p, 'role', 'master', 'health', 'online' ], ... ] ]. */
function parseShards(reply: unknown[]): Shard[] {
  return reply.map((raw) => {
    const shard = pairs(raw as unknown[]);
    const flat = (shard.slots as Array<number | string>).map(Number);
    const slots: Array<[number, number]> = [];
    for (let i = 0; i < flat.length; i += 2) slots.push([flat[i], flat[i + 1]]);
    const nodes = (shard.nodes as unknown[][]).map(pairs);
    const master = nodes.find((n) => n.role === 'master');
    return { slots, masterPort: Number(master?.port ?? 0), masterHealthy: master?.health === 'online' };
  });
}

function pairs(list: unknown[]): Record<string, any> {
  const out: Record<string, any> = {};
  for (let i = 0; i < list.length; i += 2) out[String(list[i])] = list[i + 1];
  return out;
}
