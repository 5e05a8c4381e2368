import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port handed out here; ports below are often taken by services. */
const LOWEST_PORT = 15_000;

/** The next port `freePort` tries; starts at a random place in the range, then walks it in order. */
let cursor: number | undefined;

/**
 * A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range. A port the kernel
 * picked for `listen(0)` is an ephemeral one: in the moment between closing it here and the app
 * binding it, any outgoing connection of any process (a load generator opens thousands) may take it
 * as its local port, and the app dies with EADDRINUSE (seen once in a full run with a bench beside
 * it). No outgoing connection uses a port below the range, so only another caller of this function
 * can race for it. Within this process none can: the ports are handed out in order, each once per
 * walk of the ~17,000 in the range, so two apps started side by side (each gets its port before
 * either binds it) never get the same one. Picking each at random did collide (EADDRINUSE in CI,
 * two queries started at once).
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  const size = highest - LOWEST_PORT + 1;
  if (size <= 0) return listenAnywhere();
  for (let attempt = 0; attempt < 50; attempt++) {
    cursor ??= Math.floor(Math.random() * size);
    const port = LOWEST_PORT + (cursor % size);
    cursor = (cursor + 1) % size;
    if (await canListen(port)) return port;
  }
  return listenAnywhere();
}

function ephemeralRangeStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768; // Linux's default; elsewhere the first try that fails falls back to listen(0)
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function listenAnywhere(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
