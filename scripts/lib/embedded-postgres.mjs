// npm start's embedded PostgreSQL: PGlite (PostgreSQL compiled to WASM, in this process) behind
// @electric-sql/pglite-socket, which speaks the wire protocol on a TCP port so that the apps connect to it
// with their ordinary client and DATABASE_URL, exactly as to a real server.
//
// What the socket server is, and what that means for the apps (tested by scripts/lib/embedded-postgres.spec.ts):
//  - PGlite has ONE backend session. pglite-socket multiplexes every client connection over it: one message at
//    a time, and while that session is inside a transaction only the connection that opened it is served.
//  - So simple queries, parameters (extended protocol), and transactions work, and transactions of different
//    connections never interleave (they run one after the other).
//  - Session state is shared by all connections: SET, temp tables, prepared statement names and session-level
//    advisory locks. `pg_advisory_lock` does NOT exclude another connection (same session: it is re-entrant
//    and succeeds at once); `pg_advisory_xact_lock` inside a transaction does exclude, since no other
//    connection runs until that transaction ends.
//  - No SSL, no authentication (any user and password are accepted), one database.
// Good for trying Rampart on a laptop; never for production or load.
import { mkdirSync } from 'node:fs';

/** How to get the packages when a production install (`npm prune --omit=dev`) left them out. */
export const HOW_TO_GET_POSTGRES = [
  'Rampart needs PostgreSQL (the system of record): set DATABASE_URL to a running one, or',
  '  npm install (the embedded PGlite comes with the devDependencies), or install one:',
  '  Debian/Ubuntu:  sudo apt-get install postgresql',
  '  macOS:          brew install postgresql@17 && brew services start postgresql@17',
  '  Docker:         docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:17',
].join('\n');

/**
 * Opens (or creates) the PGlite database in `dataDir` and serves it on `host:port`; `port` 0 lets the OS
 * pick one. When `port` is taken, falls back to an OS-chosen port. Resolves `{ port, stop }`;
 * `stop()` closes the listener, then the database (flushing it to `dataDir`).
 */
export async function startEmbeddedPostgres({ dataDir, host = '127.0.0.1', port, maxConnections = 100, onLine = () => undefined }) {
  let PGlite;
  let PGLiteSocketServer;
  try {
    ({ PGlite } = await import('@electric-sql/pglite'));
    ({ PGLiteSocketServer } = await import('@electric-sql/pglite-socket'));
  } catch {
    throw new Error(`@electric-sql/pglite is not installed.\n${HOW_TO_GET_POSTGRES}`);
  }
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  let server;
  let actualPort = port;
  try {
    server = await listen(PGLiteSocketServer, db, host, port, maxConnections);
  } catch (err) {
    if (err?.code !== 'EADDRINUSE' || port === 0) {
      await db.close();
      throw err;
    }
    onLine(`port ${port} is taken by something that is not a usable PostgreSQL; letting the OS choose one`);
    server = await listen(PGLiteSocketServer, db, host, 0, maxConnections);
  }
  actualPort = server.getServerConn?.().split(':').pop() ?? actualPort;
  server.addEventListener('error', (event) => onLine(`socket server error: ${event.detail?.message ?? event.detail}`));
  let stopped;
  return {
    port: Number(actualPort),
    stop: () =>
      (stopped ??= (async () => {
        await server.stop().catch(() => undefined);
        await db.close().catch(() => undefined);
      })()),
  };
}

async function listen(PGLiteSocketServer, db, host, port, maxConnections) {
  const server = new PGLiteSocketServer({ db, host, port, maxConnections });
  await server.start();
  return server;
}

// `node scripts/lib/embedded-postgres.mjs <dataDir> [port]`: serve until SIGTERM/SIGINT (used by its spec).
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const [dataDir, port = '0'] = process.argv.slice(2);
  if (!dataDir) {
    console.error('usage: node scripts/lib/embedded-postgres.mjs <dataDir> [port]');
    process.exit(2);
  }
  const pg = await startEmbeddedPostgres({ dataDir, port: Number(port), onLine: (line) => console.log(line) });
  console.log(`embedded PostgreSQL (PGlite) listening on 127.0.0.1:${pg.port}`);
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void pg.stop().then(() => process.exit(0)));
}
