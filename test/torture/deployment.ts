import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { SignJWT } from 'jose';
import { dropSchema, testDatabaseUrl, testSchema } from '../support/database.js';
import { PgProxy } from '../support/pg-proxy.js';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';
import { spawnApp, tail, type AppName, type RunningApp } from '../support/spawn-app.js';

/** Time an ended activity's orders stay in Redis before retention may remove them, in s. */
export const RETENTION_S = 3;

/** Durable Redis: a restart after kill -9 keeps every acknowledged write. */
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always'];

/** Short timeouts so faults resolve within seconds (see apps/delivery/src/config/delivery.config.ts). */
const DELIVERY_ENV = {
  PROVIDER_TIMEOUT_MS: '800',
  PROVIDER_CONNECT_TIMEOUT_MS: '300',
  INFLIGHT_DEADLINE_MS: '2500',
  SWEEP_INTERVAL_MS: '500',
  QUEUE_ATTEMPTS: '4',
  QUEUE_BACKOFF_BASE_MS: '200',
  QUEUE_BACKOFF_MAX_MS: '1000',
  QUEUE_LOCK_MS: '4000',
  QUEUE_CONCURRENCY: '8',
  PROVIDER_BREAKER_HALF_OPEN_MS: '1000',
  // The archive and retention inside the schedule: an ended activity's orders leave Redis within seconds.
  ARCHIVE_INTERVAL_MS: '100',
  RETENTION_SECONDS: String(RETENTION_S),
  RETENTION_INTERVAL_MS: '500',
  RETIRED_FILTER_SLOT_BYTES: '16',
};
const GATEWAY_ENV = {
  ROUTING_BASE_EJECTION_MS: '1000',
  ROUTING_MAX_EJECTION_MS: '4000',
  BREAKER_HALF_OPEN_MS: '1000',
  CLAIM_RATE_LIMIT_PER_S: '20',
};

export type ServiceKind = 'gateway' | 'query' | 'delivery';

/** One supervised instance: always restarted with the same environment (same ports). */
export interface Instance {
  name: string;
  kind: ServiceKind;
  env: Record<string, string>;
  app?: RunningApp;
  /** True while SIGSTOPped by the checker. */
  stopped: boolean;
  restarts: number;
}

/**
 * The torture deployment: private durable Redis, PostgreSQL (a schema of its own, reached through a
 * proxy the schedule can cut), 2 provider stubs, 2 gateways, 2 query, 2 delivery.
 */
export interface Deployment {
  prefix: string;
  redisUrl: string;
  /** The archive's schema (read straight, not through the proxy, at the end). */
  databaseSchema: string;
  adminToken: string;
  gatewayUrls: string[];
  /** Provider with order numbers, and without. */
  providerOn: string;
  providerOff: string;
  instances: Instance[];
  /** Every app process started, restarted ones included (their output names orders). */
  allApps: RunningApp[];
  token(userId: string): Promise<string>;
  /** Sends a signal to an instance (SIGSTOP/SIGCONT tracked). */
  signal(name: string, sig: NodeJS.Signals): void;
  /** Starts an instance again (after it died) on its ports; no-op if it runs. */
  restart(name: string): Promise<void>;
  isRunning(name: string): boolean;
  killRedis(): Promise<void>;
  restartRedis(): Promise<void>;
  redisRunning(): boolean;
  /** PostgreSQL unreachable for the apps (connections refused and cut), and back. */
  cutDatabase(): Promise<void>;
  restoreDatabase(): Promise<void>;
  /** SIGCONT everything stopped, restarts whatever is down (Redis and PostgreSQL first). */
  ensureAllRunning(): Promise<void>;
  /** Last log lines of every instance. */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

export async function startDeployment(opts: { prefix: string; log: (msg: string) => void }): Promise<Deployment> {
  const { prefix } = opts;
  let redis = await startRedisServer({ args: DURABLE });
  const { port: redisPort, dir: redisDir } = redis;
  const redisUrl = redis.url;
  const adminToken = randomBytes(24).toString('hex');
  const jwtSecret = randomBytes(32).toString('hex');
  const databaseSchema = testSchema();
  const proxy = new PgProxy(await freePort());
  await proxy.up();
  let databaseUp = true;
  const common = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
  const database = { DATABASE_URL: proxy.url(), DATABASE_SCHEMA: databaseSchema };
  const stubs: RunningApp[] = [];
  const instances: Instance[] = [];
  const allApps: RunningApp[] = [];
  const byName = (name: string) => {
    const found = instances.find((i) => i.name === name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  };
  const alive = (child: ChildProcess | undefined) => !!child && child.exitCode === null && child.signalCode === null;
  const launch = async (inst: Instance) => {
    inst.app = await spawnApp(inst.kind as AppName, inst.env, { label: `${inst.name}#${inst.restarts}`, timeoutMs: 30_000 });
    inst.stopped = false;
    allApps.push(inst.app);
  };

  const stopAll = async () => {
    await Promise.all([...instances.map((i) => i.app?.stop(2_000)), ...stubs.map((s) => s.stop(2_000))]);
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
    await proxy.down();
    await dropSchema(databaseSchema, testDatabaseUrl()).catch(() => undefined);
  };

  try {
    const [onPort, offPort] = [await freePort(), await freePort()];
    stubs.push(await spawnApp('provider-stub', { PORT: String(onPort), ORDER_NUMBERS: 'true' }, { label: 'provider-on' }));
    stubs.push(await spawnApp('provider-stub', { PORT: String(offPort), ORDER_NUMBERS: 'false' }, { label: 'provider-off' }));
    const tcp = { query: [] as number[], delivery: [] as number[] };
    for (const kind of ['query', 'delivery'] as const) {
      for (let i = 1; i <= 2; i++) {
        const port = await freePort();
        tcp[kind].push(port);
        const extra = kind === 'delivery' ? DELIVERY_ENV : {};
        instances.push({ name: `${kind}-${i}`, kind, env: { ...common, ...database, ...extra, TCP_PORT: String(port), HTTP_PORT: String(await freePort()) }, stopped: false, restarts: 0 });
      }
    }
    const gatewayUrls: string[] = [];
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      gatewayUrls.push(`http://127.0.0.1:${port}`);
      instances.push({
        name: `gateway-${i}`,
        kind: 'gateway',
        env: {
          ...common, ...GATEWAY_ENV, PORT: String(port), JWT_SECRET: jwtSecret, ADMIN_TOKEN: adminToken,
          QUERY_UPSTREAMS: tcp.query.map((p) => `127.0.0.1:${p}`).join(','),
          DELIVERY_UPSTREAMS: tcp.delivery.map((p) => `127.0.0.1:${p}`).join(','),
        },
        stopped: false,
        restarts: 0,
      });
    }
    // Services first (two at a time on 2 cores), then the gateways.
    await Promise.all(instances.filter((i) => i.kind === 'query').map(launch));
    await Promise.all(instances.filter((i) => i.kind === 'delivery').map(launch));
    await Promise.all(instances.filter((i) => i.kind === 'gateway').map(launch));

    const deployment: Deployment = {
      prefix, redisUrl, databaseSchema, adminToken, gatewayUrls, instances, allApps,
      providerOn: `http://127.0.0.1:${onPort}`,
      providerOff: `http://127.0.0.1:${offPort}`,
      token: (userId) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + 6 * 3600)
          .sign(new TextEncoder().encode(jwtSecret)),
      signal: (name, sig) => {
        const inst = byName(name);
        inst.app?.signal(sig);
        if (sig === 'SIGSTOP') inst.stopped = true;
        if (sig === 'SIGCONT') inst.stopped = false;
      },
      isRunning: (name) => alive(byName(name).app?.child),
      restart: async (name) => {
        const inst = byName(name);
        if (alive(inst.app?.child)) return;
        inst.restarts += 1;
        await launch(inst);
      },
      killRedis: async () => {
        const child = redis.child;
        if (!alive(child)) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      },
      restartRedis: async () => {
        if (alive(redis.child)) return;
        redis = await startRedisServer({ port: redisPort, dir: redisDir, args: DURABLE });
      },
      redisRunning: () => alive(redis.child),
      cutDatabase: async () => {
        databaseUp = false;
        await proxy.down();
      },
      restoreDatabase: async () => {
        if (databaseUp) return;
        await proxy.up();
        databaseUp = true;
      },
      ensureAllRunning: async () => {
        await deployment.restartRedis();
        await deployment.restoreDatabase();
        for (const inst of instances) {
          if (inst.stopped) deployment.signal(inst.name, 'SIGCONT');
          if (!alive(inst.app?.child)) {
            opts.log(`restarting ${inst.name} (found down)`);
            await deployment.restart(inst.name);
          }
        }
      },
      logs: (lines = 30) => [...stubs, ...instances.map((i) => i.app).filter((a): a is RunningApp => !!a)].map((a) => tail(a, lines)).join('\n'),
      stop: stopAll,
    };
    return deployment;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
