import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

/** Helpers shared by the local Redis Cluster and Sentinel groups (real redis-server processes). */

/** `redis-cli` against one node on 127.0.0.1, output trimmed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout.trim();
}

/** Whether a spawned process still runs. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGKILLs a process (no shutdown, no flush) and waits until it is gone; nothing if it already is. */
export async function sigkill(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Waits until every replica of the master on `port` has received everything the master had written
 * when this was called (replication is asynchronous: a write acknowledged just before a master dies
 * may not have reached its replica yet).
 */
export async function waitReplicasCaughtUp(port: number, timeoutMs = 10_000): Promise<void> {
  const written = Number(/^master_repl_offset:(\d+)/m.exec(await redisCli(port, 'INFO', 'replication'))?.[1]);
  await waitFor(
    async () => {
      const replicas = [...(await redisCli(port, 'INFO', 'replication')).matchAll(/^slave\d+:.*state=(\w+),offset=(\d+)/gm)];
      return replicas.length > 0 && replicas.every(([, state, offset]) => state === 'online' && Number(offset) >= written);
    },
    { timeoutMs, intervalMs: 50, what: `replicas of ${port} to reach offset ${written}` },
  );
}
