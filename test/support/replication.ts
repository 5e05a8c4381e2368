import { waitFor } from './wait-for.js';

/** `redis-cli` against one local node, output trimmed. */
export type NodeCli = (port: number, ...args: string[]) => Promise<string>;

/**
 * Waits until every replica of the master on `port` has received everything the master had written
 * when this was called (replication is asynchronous: a write acknowledged just before a master dies
 * may not have reached its replica yet).
 */
export async function waitReplicasCaughtUp(cli: NodeCli, port: number, timeoutMs = 10_000): Promise<void> {
  const written = Number(/^master_repl_offset:(\d+)/m.exec(await cli(port, 'INFO', 'replication'))?.[1]);
  await waitFor(
    async () => {
      const replicas = [...(await cli(port, 'INFO', 'replication')).matchAll(/^slave\d+:.*state=(\w+),offset=(\d+)/gm)];
      return replicas.length > 0 && replicas.every(([, state, offset]) => state === 'online' && Number(offset) >= written);
    },
    { timeoutMs, intervalMs: 50, what: `replicas of ${port} to reach offset ${written}` },
  );
}
