import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { http } from '../../test/support/http.js';
import { freePort } from '../../test/support/ports.js';
import { startRedisServer } from '../../test/support/redis.js';
import { spawnApp } from '../../test/support/spawn-app.js';
import type { Suite } from '../../test/support/suite.js';
import { waitFor } from '../../test/support/wait-for.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { runPacedLoop } from '../support/loop-load.js';
import { fmtMs, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';

/**
 * bench/soldout: claims of a gift that has sold out (a click storm after the last unit went),
 * through a gateway with the sold-out latch (`SOLD_OUT_LATCH=on`) and one without (`off`), both in
 * the same deployment (1 query, 1 delivery, provider stub) on a private redis-server, so that
 * `INFO commandstats` counts only this deployment's commands. Every claim has a new
 * Idempotency-Key and USERS users rotate (none of them holds an order): each must be answered 409
 * SOLD_OUT. Printed per gateway and load: 409s/s, p50/p99, the share answered by the latch (its
 * `rampart_sold_out_latch_hits_total` delta over the requests), and Redis commands per request (the
 * commandstats delta, less what the idle deployment sends in as long: registry, flags, reconciler,
 * queue), also as a share of what a claim on the normal path costs (the latch-off rows): the two
 * cross-check each other. Goal (issue 13): >= 99% answered without touching Redis, p99 < 10 ms.
 * Printed, not asserted.
 */
const USERS = 2_000;
const CONNECTIONS = 16;
const MAX_S = 5;
const RATE = 1_000;
const RATE_S = 5;
const GIFT_ID = 'bench-soldout-g1';

interface Row {
  gateway: string;
  load: string;
  result: LoadResult;
  requests: number;
  latchShare: number;
  redisPerRequest: number;
}

runBench('soldout', { deadlineS: 180 }, async (ctx) => {
  ctx.step('starting a private redis-server, provider stub, query, delivery and the gateway with the latch');
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.stop());
  // The rate limiter stays on (its script is part of the normal path) but far above what a user sends here.
  const gatewayEnv = { CLAIM_RATE_LIMIT_PER_S: '100000' };
  const suite = await ctx.startSuite({ redisUrl: redisServer.url, providerEnv: { FAULT_LATENCY_MS: '0' }, gatewayEnv: { ...gatewayEnv, SOLD_OUT_LATCH: 'on' } });
  ctx.step('starting a second gateway with SOLD_OUT_LATCH=off');
  const offUrl = await startGateway(suite, { ...gatewayEnv, SOLD_OUT_LATCH: 'off' });
  const onUrl = suite.gatewayUrls[0];

  ctx.step('selling the gift out (inventory 10, 10 users)');
  await publishActivity(suite, 'bench-soldout', [{ giftId: GIFT_ID, inventory: 10, perUserLimit: 1 }]);
  const buyers = await userAuthHeaders(suite, 'bench-buyer', 10);
  for (const authorization of buyers) {
    const res = await http('POST', `${onUrl}/api/gifts/${GIFT_ID}/claims`, { headers: { authorization, 'idempotency-key': randomUUID() }, body: {} });
    if (res.status !== 200) throw new Error(`a buyer's claim answered ${res.status} ${res.text}`);
  }
  await waitFor(async () => (await metric(onUrl, 'rampart_sold_out_latches')) === 1, { timeoutMs: 10_000, what: 'the latch on the gateway' });
  const authorizations = await userAuthHeaders(suite, 'bench-late', USERS);
  const run = randomUUID().slice(0, 8);
  let seq = 0;
  const next = () => ({ orderId: `so-${run}-${++seq}`, authorization: authorizations[seq % USERS] });
  const path = `/api/gifts/${GIFT_ID}/claims`;

  const stats = new Redis(redisServer.url);
  ctx.defer(() => stats.disconnect());
  const commands = async () => commandCount(await stats.info('commandstats'));
  ctx.step('measuring the idle deployment\'s Redis commands for 3 s');
  const idleStart = await commands();
  await new Promise((r) => setTimeout(r, 3_000));
  const idlePerS = ((await commands()) - idleStart) / 3;

  const measure = async (gateway: string, url: string, load: string, body: () => Promise<LoadResult>): Promise<Row> => {
    ctx.step(`${gateway}: ${load}`);
    const [hitsBefore, commandsBefore, seqBefore] = [await metric(url, 'rampart_sold_out_latch_hits_total'), await commands(), seq];
    const started = performance.now();
    const result = await body();
    const elapsedS = (performance.now() - started) / 1000;
    // Sent, not answered: a closed loop's last requests are answered (and counted by the gateway) after it stops.
    const requests = seq - seqBefore;
    const redisCommands = Math.max(0, (await commands()) - commandsBefore - idlePerS * elapsedS);
    const hits = (await metric(url, 'rampart_sold_out_latch_hits_total')) - hitsBefore;
    return { gateway, load, result, requests, latchShare: hits / requests, redisPerRequest: redisCommands / requests };
  };
  const closedLoop = (url: string, durationS = MAX_S, connections = CONNECTIONS) => () =>
    runHttpLoad({
      origin: url, path, method: 'POST', connections, durationS,
      isOk: (status) => status === 409,
      setupRequest: (request) => {
        const { orderId, authorization } = next();
        return { ...request, headers: { authorization, 'idempotency-key': orderId } };
      },
    });
  const paced = (url: string) => async () => {
    const caller = new HttpCaller(url, 64);
    try {
      return await runPacedLoop({
        ratePerS: RATE, durationS: RATE_S, maxInFlight: 256,
        call: async () => {
          const { orderId, authorization } = next();
          const status = await caller.status({ method: 'POST', path, headers: { authorization, 'idempotency-key': orderId } });
          return status === 409 || String(status);
        },
      });
    } finally {
      await caller.close();
    }
  };

  ctx.step('warm-up 2 s on each gateway');
  for (const url of [onUrl, offUrl]) await closedLoop(url, 2, 4)();
  const rows: Row[] = [];
  rows.push(await measure('latch on', onUrl, `max, ${CONNECTIONS} conns`, closedLoop(onUrl)));
  rows.push(await measure('latch off', offUrl, `max, ${CONNECTIONS} conns`, closedLoop(offUrl)));
  rows.push(await measure('latch on', onUrl, `${RATE}/s paced`, paced(onUrl)));
  rows.push(await measure('latch off', offUrl, `${RATE}/s paced`, paced(offUrl)));

  printTable(`POST ${path} for a sold-out gift, new keys, ${USERS} users (ok = 409 SOLD_OUT)`, RESULT_HEADER, rows.map((r) => resultRow(r.gateway, r.load, r.result)));
  // A claim that reaches Redis runs the whole normal path; the latch-off rows say what that costs.
  const normalPathCommands = Math.max(...rows.filter((r) => r.gateway === 'latch off').map((r) => r.redisPerRequest));
  printTable('Redis per request', ['gateway', 'load', 'requests', 'answered by the latch', 'Redis commands / request', 'reached Redis (commands / normal path)'], rows.map((r) => [
    r.gateway, r.load, String(r.requests), pct(r.latchShare), r.redisPerRequest.toFixed(3), pct(r.redisPerRequest / normalPathCommands),
  ]));
  console.log('');
  console.log(`idle deployment: ${idlePerS.toFixed(1)} Redis commands/s (subtracted); a claim on the normal path: ${normalPathCommands.toFixed(1)} commands (Lua calls included)`);
  for (const r of rows.filter((row) => row.gateway === 'latch on')) {
    const withoutRedis = Math.min(r.latchShare, 1 - r.redisPerRequest / normalPathCommands);
    console.log(
      `latch on, ${r.load}: answered without touching Redis ${pct(withoutRedis)} (goal >= 99%: ${verdict(withoutRedis >= 0.99)}), ` +
        `p99 ${fmtMs(r.result.p99Ms)} ms (goal < 10 ms: ${verdict(r.result.p99Ms < 10)}); latch off p99 ` +
        `${fmtMs(rows.find((o) => o.gateway === 'latch off' && o.load === r.load)?.result.p99Ms ?? NaN)} ms`,
    );
  }
  console.log('Load generator, apps, provider stub and Redis share the same cores; compare figures of one run only.');
});

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');

/** Starts one more gateway in the suite's deployment with extra env; answers its URL. */
async function startGateway(suite: Suite, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const app = await spawnApp('gateway', {
    REDIS_URL: suite.redisUrl,
    REDIS_PREFIX: suite.prefix,
    PORT: String(port),
    QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
    DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
    JWT_SECRET: suite.jwtSecret,
    ADMIN_TOKEN: suite.adminToken,
    ...env,
  }, { label: 'gateway-latch-off' });
  suite.gateways.push(app); // stopped with the suite
  return `http://127.0.0.1:${port}`;
}

/** One unlabelled series' value from an app's /metrics. */
async function metric(base: string, name: string): Promise<number> {
  const text = (await http('GET', `${base}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** Commands Redis has run, from `INFO commandstats`, not counting INFO itself (our probe). */
function commandCount(info: string): number {
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') total += Number(match[2]);
  return total;
}
