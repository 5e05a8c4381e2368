import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../support/ports.js';
import { spawnApp, type RunningApp } from '../support/spawn-app.js';
import type { Suite } from '../support/suite.js';

/**
 * A stand-in service instance on the Nest TCP transport (`<length>#<json>` frames) with a real
 * fault: `answer` decides each message (a Reply, `'hang'` to accept it and never answer, or
 * `'reset'` to drop the connection with the call in flight).
 * Pings are answered ok unless `failPings`. `received` counts the other messages that arrived.
 * Listens on `port` when given (e.g. to revive an instance on its old address), else a free one.
 */
export async function fakeService(answer: (pattern: string) => unknown | 'hang' | 'reset', opts: { failPings?: boolean; port?: number } = {}) {
  const port = opts.port ?? (await freePort());
  const sockets = new Set<Socket>();
  const state = { received: 0, byPattern: {} as Record<string, number> };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const hash = buffer.indexOf('#');
        if (hash < 0) return;
        const length = Number(buffer.slice(0, hash));
        if (buffer.length < hash + 1 + length) return;
        const message = JSON.parse(buffer.slice(hash + 1, hash + 1 + length)) as { id?: string; pattern: string };
        buffer = buffer.slice(hash + 1 + length);
        const isPing = message.pattern === 'instance.ping';
        if (!isPing) {
          state.received++;
          state.byPattern[message.pattern] = (state.byPattern[message.pattern] ?? 0) + 1;
        }
        const reply = isPing && !opts.failPings ? { ok: true, value: { pong: true } } : isPing ? 'hang' : answer(message.pattern);
        if (reply === 'reset') {
          socket.destroy();
          return;
        }
        if (reply === 'hang' || message.id === undefined) continue;
        const data = JSON.stringify({ id: message.id, response: reply, isDisposed: true });
        socket.write(`${data.length}#${data}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${port}`,
    state,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts one more gateway of `suite` (same Redis, prefix and secrets) with `env` on top. */
export async function extraGateway(suite: Suite, env: Record<string, string>, label: string, port?: number): Promise<{ app: RunningApp; url: string; port: number }> {
  const p = port ?? (await freePort());
  const app = await spawnApp('gateway', {
    REDIS_URL: suite.redisUrl,
    REDIS_PREFIX: suite.prefix,
    PORT: String(p),
    QUERY_UPSTREAMS: suite.queryTcpPorts.map((q) => `127.0.0.1:${q}`).join(','),
    DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((d) => `127.0.0.1:${d}`).join(','),
    JWT_SECRET: suite.jwtSecret,
    ADMIN_TOKEN: suite.adminToken,
    DISCOVERY_ENABLED: 'false',
    ...env,
  }, { label });
  return { app, url: `http://127.0.0.1:${p}`, port: p };
}

/**
 * Closed-loop load: `concurrency` loops calling `send` for `durationMs`, each paced to at most
 * `ratePerS / concurrency` calls per second when `ratePerS` is given (a bounded load, so a
 * shared CPU is not saturated by the measurement itself); throughput (req/s), p99 (ms), statuses.
 */
export async function closedLoop(send: () => Promise<number>, opts: { concurrency: number; durationMs: number; ratePerS?: number }) {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const deadline = performance.now() + opts.durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, loop) => {
      const intervalMs = opts.ratePerS ? (1000 * opts.concurrency) / opts.ratePerS : 0;
      let next = started + (intervalMs * loop) / opts.concurrency;
      while (performance.now() < deadline) {
        if (intervalMs) {
          const wait = next - performance.now();
          next += intervalMs;
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (performance.now() >= deadline) break;
        }
        const t0 = performance.now();
        const status = await send().catch(() => 0);
        latencies.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsedS, p50: p(0.5), p99: p(0.99), count: latencies.length, statuses };
}

/** Status of a GET with a bearer token (body drained). */
export async function getStatus(url: string, token: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}
