#!/usr/bin/env node
// npm start: the whole of Rampart on one machine, for trying it out.
//   1. builds if a bundle is missing or older than the sources
//   2. finds Redis at REDIS_URL, or starts a local redis-server (data in .rampart/redis, bounded by
//      REDIS_MAXMEMORY, default 256mb, with maxmemory-policy noeviction)
//   2b. finds PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), or starts an
//      embedded one (PGlite behind pglite-socket, in this process, data in .rampart/pglite) on that URL's port
//   3. takes JWT_SECRET / ADMIN_TOKEN from the environment, else from .rampart/secrets.json (made once)
//   4. starts provider-stub, query x2, delivery x2, an analyzer, then the gateway, each waited for by its ready line
//   5. publishes the demo activity through the gateway and prints URLs, tokens and curl commands
// Ctrl-C / SIGTERM stops the apps (SIGTERM, SIGKILL after 10 s), then the redis-server and the embedded
// PostgreSQL if it started them.
// REDIS_MAXMEMORY bounds the redis-server it starts (default 256mb).
// Ports: PORT (gateway, 3000), STUB_PORT (7001), QUERY_TCP_PORTS (4001,4002), QUERY_HTTP_PORTS (4051,4052),
// DELIVERY_TCP_PORTS (4101,4102), DELIVERY_HTTP_PORTS (4151,4152), ANALYZER_HTTP_PORTS (4171); the lists also set how many instances run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from './lib/build-check.mjs';
import { ChildApp } from './lib/child-app.mjs';
import { signUserToken } from './lib/jwt.mjs';
import { startEmbeddedPostgres } from './lib/embedded-postgres.mjs';
import { HOW_TO_GET_REDIS, isLocalRedis, pingRedis, redisMemoryPolicy, startRedisServer, which } from './lib/local-redis.mjs';
import { DEFAULT_DATABASE_URL, isLocalDatabase, parseDatabaseUrl, probePostgres, withPort } from './lib/pg-probe.mjs';
import { loadOrCreateSecrets } from './lib/secrets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const env = process.env;
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;
const HOST = '127.0.0.1';
let shuttingDown = false;

const say = (message) => console.log(`[start] ${message}`);
const fail = (message) => {
  console.error(`[start] ${message}`);
  process.exit(1);
};

function ports(name, fallback) {
  const list = (env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!list.length || list.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) fail(`${name} must be comma-separated ports 1-65535`);
  return list;
}
const gatewayPort = ports('PORT', '3000')[0];
const stubPort = ports('STUB_PORT', '7001')[0];
const queryTcp = ports('QUERY_TCP_PORTS', '4001,4002');
const queryHttp = ports('QUERY_HTTP_PORTS', '4051,4052');
const deliveryTcp = ports('DELIVERY_TCP_PORTS', '4101,4102');
const deliveryHttp = ports('DELIVERY_HTTP_PORTS', '4151,4152');
const analyzerHttp = ports('ANALYZER_HTTP_PORTS', '4171');
if (queryTcp.length !== queryHttp.length) fail('QUERY_TCP_PORTS and QUERY_HTTP_PORTS must list as many ports');
if (deliveryTcp.length !== deliveryHttp.length) fail('DELIVERY_TCP_PORTS and DELIVERY_HTTP_PORTS must list as many ports');

// 1. Build
const APPS = ['gateway', 'query', 'delivery', 'analyzer', 'provider-stub'];
const stale = staleReason(root, APPS);
if (stale) {
  say(`building (${stale})`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) fail('npm run build failed; see above');
}

// 2. Redis
const redisUrl = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
if (!URL.canParse(redisUrl) || !/^rediss?:$/.test(new URL(redisUrl).protocol)) fail(`REDIS_URL must be a redis:// URL (got "${redisUrl}")`);
// The redis-server started here is bounded; a full one refuses writes (claims answer 503), never evicts.
const redisMaxmemory = env.REDIS_MAXMEMORY?.trim() || '256mb';
if (!/^\d+(b|kb|mb|gb)?$/i.test(redisMaxmemory)) fail(`REDIS_MAXMEMORY must be a size like 256mb or 1gb (got "${redisMaxmemory}")`);
let redisServer;
if (await pingRedis(redisUrl)) {
  say(`using Redis at ${redactUrl(redisUrl)}`);
  const memory = await redisMemoryPolicy(redisUrl);
  if (memory && memory.policy !== 'noeviction') {
    say(`warning: this Redis has maxmemory-policy ${memory.policy}; Rampart needs noeviction (an evicted idempotency record or counter means a double delivery or an oversell)`);
  }
} else if (!isLocalRedis(redisUrl)) {
  fail(`Redis at ${redactUrl(redisUrl)} does not answer PING, and it is not local, so it cannot be started from here.`);
} else if (!which('redis-server')) {
  fail(`No Redis answers at ${redactUrl(redisUrl)} and redis-server is not on PATH.\n${HOW_TO_GET_REDIS}`);
} else {
  say(`no Redis at ${redactUrl(redisUrl)}: starting redis-server (data in .rampart/redis)`);
  try {
    redisServer = await startRedisServer(redisUrl, join(root, '.rampart', 'redis'), {
      maxmemory: redisMaxmemory,
      onLine: (line) => console.log(`[redis] ${line}`),
    });
  } catch (err) {
    fail(err.message);
  }
  redisServer.once('exit', (code, signal) => {
    if (!shuttingDown) say(`redis-server exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); the apps will report Redis errors`);
  });
}

// 2b. PostgreSQL (the system of record): the one at DATABASE_URL when it lets us in, else an embedded one.
let databaseUrl = env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
let embeddedPostgres;
try {
  parseDatabaseUrl(databaseUrl);
} catch (err) {
  fail(err.message);
}
const postgres = await probePostgres(databaseUrl);
if (postgres.ok) {
  say(`using PostgreSQL at ${redactUrl(databaseUrl)}`);
} else if (postgres.answers || !isLocalDatabase(databaseUrl)) {
  // Something is there but refuses us (a password, an unknown database): starting another would hide that.
  fail(`PostgreSQL at ${redactUrl(databaseUrl)} is not usable: ${postgres.reason}. Fix DATABASE_URL, or unset it to use the embedded one.`);
} else {
  const wanted = parseDatabaseUrl(databaseUrl).port;
  say(`no PostgreSQL at ${redactUrl(databaseUrl)} (${postgres.reason}): starting an embedded one (PGlite, data in .rampart/pglite)`);
  try {
    embeddedPostgres = await startEmbeddedPostgres({
      dataDir: join(root, '.rampart', 'pglite'),
      host: HOST,
      port: wanted,
      onLine: (line) => console.log(`[pglite] ${line}`),
    });
  } catch (err) {
    fail(`could not start the embedded PostgreSQL: ${err.message}`);
  }
  databaseUrl = withPort(databaseUrl, embeddedPostgres.port);
  say(`using the embedded PostgreSQL (PGlite) at ${redactUrl(databaseUrl)}`);
}

// 3. Secrets
let secrets;
try {
  secrets = loadOrCreateSecrets(root);
} catch (err) {
  fail(err.message);
}

// 4. Apps
// The apps log JSON lines (one per event and per request); shown here through pino-pretty unless
// LOG_FORMAT=json asks for the raw lines.
const format = await logFormatter();
// Every app shares the service token of the gateway-to-service hop (the stub ignores it).
const base = { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, SERVICE_TOKEN: secrets.serviceToken };
const node = (app) => [process.execPath, join('dist', 'apps', app, 'main.js')];
const backends = [
  new ChildApp('provider-stub', node('provider-stub'), { ...base, PORT: String(stubPort), HOST }, { format }),
  ...queryTcp.map((tcp, i) => new ChildApp(`query-${i + 1}`, node('query'), { ...base, TCP_PORT: String(tcp), HTTP_PORT: String(queryHttp[i]) }, { format })),
  ...deliveryTcp.map((tcp, i) => new ChildApp(`delivery-${i + 1}`, node('delivery'), { ...base, TCP_PORT: String(tcp), HTTP_PORT: String(deliveryHttp[i]) }, { format })),
  ...analyzerHttp.map((http, i) => new ChildApp(`analyzer-${i + 1}`, node('analyzer'), { ...base, HTTP_PORT: String(http) }, { format })),
];
const gateway = new ChildApp('gateway', node('gateway'), {
  ...base,
  PORT: String(gatewayPort),
  QUERY_UPSTREAMS: queryTcp.map((p) => `${HOST}:${p}`).join(','),
  DELIVERY_UPSTREAMS: deliveryTcp.map((p) => `${HOST}:${p}`).join(','),
  JWT_SECRET: secrets.jwtSecret,
  ADMIN_TOKEN: secrets.adminToken,
  CORS_ORIGINS: env.CORS_ORIGINS ?? 'http://localhost:*',
}, { format });
const apps = [...backends, gateway];

// Last resort if this script dies without its shutdown: take the detached children along.
process.on('exit', () => {
  for (const app of apps) app.kill();
  if (redisServer && redisServer.exitCode === null) redisServer.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (shuttingDown) {
      say(`${signal} again: killing everything now`);
      process.exit(1);
    }
    void shutdown(0);
  });
}

async function shutdown(code) {
  shuttingDown = true;
  say('stopping the apps');
  // Gateway first, so no new requests reach services that are going away.
  await gateway.stop(STOP_GRACE_MS);
  await Promise.all(backends.map((app) => app.stop(STOP_GRACE_MS)));
  if (redisServer && redisServer.exitCode === null && redisServer.signalCode === null) {
    say('stopping the redis-server started by npm start');
    const exited = new Promise((resolve) => redisServer.once('exit', resolve));
    redisServer.kill('SIGTERM');
    const timer = setTimeout(() => redisServer.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  if (embeddedPostgres) {
    say('stopping the embedded PostgreSQL started by npm start');
    await embeddedPostgres.stop();
  }
  say('stopped');
  process.exit(code);
}

/** Starts `group` together; on the first one that fails to get ready, prints its last lines and stops all. */
async function startAll(group) {
  for (const app of group) {
    app.start((code, signal) => {
      // Before the ready line an exit is reported by waitReady below, with the app's last lines.
      if (app.isReady && !shuttingDown && !app.stopping) {
        say(`${app.name} exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); not restarting it`);
      }
    });
  }
  try {
    await Promise.all(group.map((app) => app.waitReady(READY_TIMEOUT_MS).catch((err) => Promise.reject(Object.assign(err, { app })))));
  } catch (err) {
    console.error(`[start] ${err.message}. Its last lines:`);
    for (const line of err.app.lines) console.error(`  [${err.app.name}] ${line}`);
    await shutdown(1);
  }
}

say(`starting ${backends.map((a) => a.name).join(', ')}`);
await startAll(backends);
say('starting gateway');
await startAll([gateway]);

// 5. Demo activity
const gatewayUrl = `http://${HOST}:${gatewayPort}`;
const now = Date.now();
const isoSeconds = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const provider = { url: `http://${HOST}:${stubPort}`, orderNumbers: true };
const demo = {
  name: 'Demo activity',
  startsAt: isoSeconds(now - 3_600_000),
  endsAt: isoSeconds(now + 30 * 86_400_000),
  gifts: [
    { giftId: 'g1', name: 'Demo skin', inventory: 1000, dailyLimit: 300, perUserLimit: 1, delivery: 'sync', provider },
    { giftId: 'g2', name: 'Demo bundle (async delivery)', inventory: 1000, dailyLimit: 300, perUserLimit: 1, delivery: 'async', provider },
  ],
};
try {
  const res = await fetch(`${gatewayUrl}/admin/activities/demo`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${secrets.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(demo),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  say(`published demo activity (gifts g1 sync, g2 async): HTTP ${res.status}${res.ok ? '' : ` ${text}`}`);
} catch (err) {
  say(`could not publish the demo activity: ${err.message}`);
}

// 6. What to do next
const demoUser = `demo-${randomBytes(3).toString('hex')}`;
const jwt = await signUserToken({ userId: demoUser, secret: secrets.jwtSecret, ttlSeconds: 24 * 3600 });
const key = `demo-${randomBytes(6).toString('hex')}`;
const origin = (envName, source) =>
  ({ env: `from ${envName}`, file: 'from .rampart/secrets.json', generated: 'generated, saved in .rampart/secrets.json (mode 0600)' })[source];
console.log(`
Rampart is running. Ctrl-C stops everything.

  gateway         ${gatewayUrl}   (operator dashboard ${gatewayUrl}/admin/)
  gateway health  ${gatewayUrl}/health/ready
${backends
  .filter((a) => a.name !== 'provider-stub')
  .map((a) => `  ${a.name.padEnd(14)}  http://${HOST}:${a.env.HTTP_PORT}/health/ready${a.env.TCP_PORT ? `   (TCP ${a.env.TCP_PORT})` : ''}`)
  .join('\n')}
  provider stub   http://${HOST}:${stubPort}/_stats   (faults: PUT /_faults)
  redis           ${redactUrl(redisUrl)}${redisServer ? `   (started by npm start, maxmemory ${redisMaxmemory}, noeviction)` : ''}
  postgresql      ${redactUrl(databaseUrl)}${embeddedPostgres ? '   (embedded PGlite started by npm start, data in .rampart/pglite)' : ''}

  admin token     ${secrets.adminToken}   (${origin('ADMIN_TOKEN', secrets.sources.adminToken)})
  JWT secret      ${origin('JWT_SECRET', secrets.sources.jwtSecret)}; npm run token -- <userId> signs with it
  demo user       ${demoUser}, token valid 24 h:
  ${jwt}

Claim gift g1:
  curl -s -X POST ${gatewayUrl}/api/gifts/g1/claims -H "Authorization: Bearer ${jwt}" -H "Idempotency-Key: ${key}" -H 'Content-Type: application/json' -d '{}'
Read the order back (the Idempotency-Key is the order number; repeating the claim is safe):
  curl -s ${gatewayUrl}/api/orders/${key} -H "Authorization: Bearer ${jwt}"
  curl -s ${gatewayUrl}/api/me/orders -H "Authorization: Bearer ${jwt}"
The demo activity's analytics (counted by the analyzer, a few seconds behind):
  curl -s ${gatewayUrl}/admin/analytics/activities/demo?minutes=60 -H "Authorization: Bearer ${secrets.adminToken}"
`);

/** pino-pretty over each JSON line (`[12:00:01.234] WARN: breaker breaker.open {...}`); other lines as they are. */
async function logFormatter() {
  if (env.LOG_FORMAT === 'json') return (line) => line;
  let prettyFactory;
  try {
    ({ prettyFactory } = await import('pino-pretty'));
  } catch {
    return (line) => line; // a production install (npm prune --omit=dev) has no pino-pretty
  }
  const pretty = prettyFactory({
    colorize: Boolean(process.stdout.isTTY),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app,context,event',
    singleLine: true,
    messageFormat: '{if context}{context} {end}{if event}{event} {end}{msg}',
  });
  return (line) => (line.startsWith('{') ? pretty(line).trimEnd() : line);
}

function redactUrl(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
