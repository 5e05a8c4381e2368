import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { dropSchema, testDatabaseUrl, testSchema } from './database.js';
import { freePort } from './ports.js';
import { deletePrefix, useTestRedis, type TestRedis } from './redis.js';
import { spawnApp, tail, type RunningApp } from './spawn-app.js';

export interface SuiteOptions {
  gateways?: number;
  queries?: number;
  deliveries?: number;
  /** Analyzers (apps/analyzer) to start, each with ANALYZER_CONSUMER `analyzer-<n>`. Default 0. */
  analyzers?: number;
  analyzerEnv?: Record<string, string>;
  /** Extra env for every app (e.g. timeouts). */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  deliveryEnv?: Record<string, string>;
  providerEnv?: Record<string, string>;
  /** Use this Redis instead of the shared test one. */
  redisUrl?: string;
  /** Key prefix (default: a unique `e2e-…`); a cluster test picks one to place global keys on a chosen node. */
  prefix?: string;
  /**
   * DATABASE_URL the apps get (default the test PostgreSQL, `DATABASE_URL` or
   * postgres://postgres@127.0.0.1:5432/postgres; e.g. a proxy a test stops and starts). The suite's
   * tables live in a schema of their own (DATABASE_SCHEMA), dropped by `stop()`.
   */
  databaseUrl?: string;
}

/** A whole Rampart deployment as real processes on loopback, isolated by a unique Redis prefix. */
export interface Suite {
  redisUrl: string;
  prefix: string;
  /** The PostgreSQL schema of this suite's archive (on the test database). */
  databaseSchema: string;
  adminToken: string;
  jwtSecret: string;
  gateways: RunningApp[];
  queries: RunningApp[];
  deliveries: RunningApp[];
  analyzers: RunningApp[];
  /** Starts analyzer number `n` (consumer `analyzer-<n>`, a fresh HTTP port) and records it in `analyzers`; returns it and its metrics URL. */
  startAnalyzer(n: number, env?: Record<string, string>): Promise<{ app: RunningApp; metricsUrl: string }>;
  /** The metrics URL of each analyzer started, by number. */
  analyzerMetricsUrls: Map<number, string>;
  provider: RunningApp;
  /** Stops delivery instance `i` (SIGTERM) and starts it again on its TCP port with its settings; it replaces it in `deliveries`. */
  restartDelivery(i: number): Promise<RunningApp>;
  gatewayUrls: string[];
  providerUrl: string;
  queryTcpPorts: number[];
  deliveryTcpPorts: number[];
  token(userId: string, opts?: { expiresInS?: number; secret?: string }): Promise<string>;
  /** Output of every process, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startSuite(opts: SuiteOptions = {}): Promise<Suite> {
  let redis: TestRedis | undefined;
  const redisUrl = opts.redisUrl ?? (redis = await useTestRedis()).url;
  const prefix = opts.prefix ?? `e2e-${randomUUID().slice(0, 8)}`;
  const adminToken = randomBytes(24).toString('hex');
  const jwtSecret = randomBytes(32).toString('hex');
  const databaseSchema = testSchema();
  const common = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix, DATABASE_URL: opts.databaseUrl ?? testDatabaseUrl(), DATABASE_SCHEMA: databaseSchema, ...opts.env };
  const apps: RunningApp[] = [];
  const start = async (...args: Parameters<typeof spawnApp>) => {
    const app = await spawnApp(...args);
    apps.push(app);
    return app;
  };
  try {
    const providerPort = await freePort();
    const provider = await start('provider-stub', { PORT: String(providerPort), ...opts.providerEnv });
    const queryTcpPorts: number[] = [];
    const deliveryTcpPorts: number[] = [];
    const serviceEnvs = new Map<string, Record<string, string>>();
    const spawnService = async (name: 'query' | 'delivery', i: number, ports: number[], extra: Record<string, string> = {}) => {
      const tcp = await freePort();
      ports[i] = tcp;
      const env = { ...common, TCP_PORT: String(tcp), ...extra };
      serviceEnvs.set(`${name}-${i + 1}`, env);
      return start(name, { ...env, HTTP_PORT: String(await freePort()) }, { label: `${name}-${i + 1}` });
    };
    const queries = await Promise.all(Array.from({ length: opts.queries ?? 1 }, (_, i) => spawnService('query', i, queryTcpPorts)));
    // A small retired-number filter (16,384 shards of 16 bytes): suites share the test Redis.
    const deliveryEnv = { RETIRED_FILTER_SLOT_BYTES: '16', ...opts.deliveryEnv };
    const deliveries = await Promise.all(Array.from({ length: opts.deliveries ?? 1 }, (_, i) => spawnService('delivery', i, deliveryTcpPorts, deliveryEnv)));
    const gatewayUrls: string[] = [];
    const gateways = await Promise.all(
      Array.from({ length: opts.gateways ?? 1 }, async (_, i) => {
        const port = await freePort();
        gatewayUrls.push(`http://127.0.0.1:${port}`);
        return start('gateway', {
          ...common,
          PORT: String(port),
          QUERY_UPSTREAMS: queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
          DELIVERY_UPSTREAMS: deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
          JWT_SECRET: jwtSecret,
          ADMIN_TOKEN: adminToken,
          ...opts.gatewayEnv,
        }, { label: `gateway-${i + 1}` });
      }),
    );
    const analyzers: RunningApp[] = [];
    const analyzerMetricsUrls = new Map<number, string>();
    const startAnalyzer = async (n: number, env: Record<string, string> = {}) => {
      const httpPort = await freePort();
      const app = await start('analyzer', { ...common, HTTP_PORT: String(httpPort), ANALYZER_CONSUMER: `analyzer-${n}`, ...opts.analyzerEnv, ...env }, { label: `analyzer-${n}` });
      analyzers.push(app);
      const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
      analyzerMetricsUrls.set(n, metricsUrl);
      return { app, metricsUrl };
    };
    for (let n = 1; n <= (opts.analyzers ?? 0); n += 1) await startAnalyzer(n);
    const suite: Suite = {
      redisUrl, prefix, databaseSchema, adminToken, jwtSecret, gateways, queries, deliveries, analyzers, startAnalyzer, analyzerMetricsUrls, provider, gatewayUrls,
      restartDelivery: async (i) => {
        const label = `delivery-${i + 1}`;
        await suite.deliveries[i]!.stop();
        suite.deliveries[i] = await start('delivery', { ...serviceEnvs.get(label)!, HTTP_PORT: String(await freePort()) }, { label: `${label}-restarted` });
        return suite.deliveries[i]!;
      },
      providerUrl: `http://127.0.0.1:${providerPort}`, queryTcpPorts, deliveryTcpPorts,
      token: (userId, o = {}) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresInS ?? 3600))
          .sign(new TextEncoder().encode(o.secret ?? jwtSecret)),
      logs: () => apps.map((a) => tail(a, 30)).join('\n'),
      stop: async () => {
        // Also an instance a test started in place of one (e.g. a restart after SIGKILL).
        const running = new Set([...apps, ...suite.gateways, ...suite.queries, ...suite.deliveries, ...suite.analyzers, suite.provider]);
        await Promise.all([...running].map((a) => a.stop()));
        await deletePrefix(redisUrl, prefix);
        await dropSchema(databaseSchema).catch(() => undefined);
        await redis?.stop();
      },
    };
    return suite;
  } catch (err) {
    await Promise.all(apps.map((a) => a.stop(1_000)));
    await dropSchema(databaseSchema).catch(() => undefined);
    await redis?.stop();
    throw err;
  }
}

/** An activity configuration like the contract's example, open now. */
export function demoActivity(providerUrl: string, gifts: Array<Record<string, unknown>> = [{}]) {
  return {
    name: 'Spring festival',
    startsAt: new Date(Date.now() - 3_600_000).toISOString(),
    endsAt: new Date(Date.now() + 86_400_000).toISOString(),
    gifts: gifts.map((g, i) => ({
      giftId: `g${i + 1}`, name: 'Skin', inventory: 1000, perUserLimit: 1, delivery: 'sync',
      provider: { url: providerUrl, orderNumbers: true },
      ...g,
    })),
  };
}

/** A second provider stub, without order numbers: a repeated orderId is a new delivery. */
export async function startProviderWithoutOrderNumbers(): Promise<{ app: RunningApp; url: string }> {
  const port = await freePort();
  const app = await spawnApp('provider-stub', { PORT: String(port), ORDER_NUMBERS: 'false' }, { label: 'provider-no-order-numbers' });
  return { app, url: `http://127.0.0.1:${port}` };
}
