import { Redis } from 'ioredis';
import { expectError, http, type JsonResponse } from '../support/http.js';
import { waitForOrderStatus } from '../support/orders.js';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';
import { spawnApp } from '../support/spawn-app.js';
import { waitFor } from '../support/wait-for.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';

// Contract section 5: Redis runs with maxmemory and noeviction; when it is full, claims get 503
// SERVICE_UNAVAILABLE (with Retry-After), never a 500. Here a dedicated redis-server with a small
// maxmemory is really filled up (keys written until Redis answers OOM), then every kind of claim, a
// repeated one, reads and the gateway's own writes (rate limiter, flags, audit, publishing) are tried.

const MAXMEMORY = 24 * 1024 * 1024;
const FILLER = 'x'.repeat(64 * 1024);

describe('a Redis filled up to maxmemory (noeviction)', () => {
  let suite: Suite | undefined;
  let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  let admin: Redis | undefined;
  let fillerKeys = 0;

  afterAll(async () => {
    admin?.disconnect();
    await suite?.stop();
    await redis?.stop();
  });

  it('answers claims 503 with Retry-After (never 500), keeps answering reads, reports no headroom, and serves again once there is room', async () => {
    redis = await startRedisServer({ args: ['--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'noeviction'] });
    suite = await startSuite({ redisUrl: redis.url });
    const gw = suite.gatewayUrls[0];
    const gwPort = await freePort();
    const gwNoLimiter = `http://127.0.0.1:${gwPort}`;
    suite.gateways.push(
      await spawnApp('gateway', {
        REDIS_URL: redis.url,
        REDIS_PREFIX: suite.prefix,
        PORT: String(gwPort),
        QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
        DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
        JWT_SECRET: suite.jwtSecret,
        ADMIN_TOKEN: suite.adminToken,
        CLAIM_RATE_LIMIT_PER_S: '0',
      }, { label: 'gateway-no-rate-limit' }),
    );
    const body = demoActivity(suite.providerUrl, [
      { giftId: 'full-sync' },
      { giftId: 'full-async', delivery: 'async' },
      { giftId: 'full-last', inventory: 1 },
    ]);
    expect((await http('PUT', `${gw}/admin/activities/a-full`, { token: suite.adminToken, body })).status).toBe(201);
    const before = await http('POST', `${gw}/api/gifts/full-sync/claims`, { token: await suite.token('u-before'), headers: { 'idempotency-key': 'full-before' }, body: {} });
    expect(before.body).toMatchObject({ orderId: 'full-before', status: 'delivered' });
    expect((await http('POST', `${gw}/api/gifts/full-last/claims`, { token: await suite.token('u-last'), headers: { 'idempotency-key': 'full-last-1' }, body: {} })).status).toBe(200);

    // Fill: 64 KiB values until Redis refuses a write (OOM command not allowed).
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    for (;;) {
      try {
        await admin.set(`filler:${fillerKeys}`, FILLER);
        fillerKeys++;
      } catch (err) {
        expect(String(err)).toMatch(/OOM command not allowed/);
        break;
      }
    }
    expect(fillerKeys).toBeGreaterThan(100);
    // Keys the apps write with a TTL (rate-limit windows, locks) expire and free a few KiB, which would let
    // a small write through now and then: hold it full by setting the limit 1 MiB under what it uses.
    const usedWhenFull = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    const heldMax = usedWhenFull - 1024 * 1024;
    await admin.config('SET', 'maxmemory', String(heldMax));

    // Delivery's gauges see it: no headroom left, noeviction.
    const metrics = await deliveryMetrics(suite);
    const node = `127.0.0.1:${redis.port}`;
    expect(gauge(metrics, 'rampart_redis_memory_max_bytes', node)).toBe(heldMax);
    expect(gauge(metrics, 'rampart_redis_memory_used_bytes', node)).toBeGreaterThan(heldMax);
    expect(gauge(metrics, 'rampart_redis_memory_headroom_ratio', node)).toBe(0);
    expect(metrics).toContain(`rampart_redis_noeviction{node="${node}",policy="noeviction",app="delivery"} 1`);

    // New claims of every kind, from new users, at once: through the usual gateway (its per-user rate
    // limiter writes to Redis first) and through one without the rate limiter, so that delivery's own
    // writes (reservation, order, ledger) meet the full Redis too.
    const claims: Array<Promise<JsonResponse>> = [];
    for (let i = 0; i < 8; i++) {
      for (const gift of ['full-sync', 'full-async', 'full-last']) {
        const via = i % 2 === 0 ? gw : gwNoLimiter;
        claims.push(suite.token(`u-${gift}-${i}`).then((token) => http('POST', `${via}/api/gifts/${gift}/claims`, { token, headers: { 'idempotency-key': `full-${gift}-${i}` }, body: {} })));
      }
    }
    const answers = await Promise.all(claims);
    const byStatus = countBy(answers.map((r) => r.status));
    // An in-stock gift needs writes (reservation, order, ledger): refused, retryable. The sold-out one may
    // be told SOLD_OUT before any write, or refused as well; nothing is a 500.
    for (const [i, res] of answers.entries()) {
      const gift = ['full-sync', 'full-async', 'full-last'][i % 3];
      if (gift === 'full-last' && res.status === 409) {
        expectError(res, 409, 'SOLD_OUT');
        continue;
      }
      expectError(res, 503, 'SERVICE_UNAVAILABLE');
      expect({ status: res.status, retryAfter: Number(res.headers.get('retry-after')) }).toEqual({ status: 503, retryAfter: expect.any(Number) });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(byStatus[500]).toBeUndefined();
    // Delivery met it itself, and answered the retryable refusal (not its INTERNAL).
    expect(suite.deliveries[0].logs.some((l) => l.includes('"event":"storage.unavailable"') && l.includes('OOM command not allowed'))).toBe(true);

    // The order made before: its repeated claim and its reads answer it, or refuse it as retryable.
    const tokenBefore = await suite.token('u-before');
    for (const res of [
      await http('POST', `${gw}/api/gifts/full-sync/claims`, { token: tokenBefore, headers: { 'idempotency-key': 'full-before' }, body: {} }),
      await http('GET', `${gw}/api/orders/full-before`, { token: tokenBefore }),
    ]) {
      if (res.status === 503) expect(res.headers.get('retry-after')).toBeTruthy();
      else expect({ status: res.status, orderId: res.body?.orderId }).toEqual({ status: 200, orderId: 'full-before' });
    }
    // Operators' writes through the gateway's own Redis work (publishing, flags, audit): 503, not 500.
    const publish = await http('PUT', `${gw}/admin/activities/a-full-2`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: 'full-new' }]) });
    expectError(publish, 503, 'SERVICE_UNAVAILABLE');
    expect(publish.headers.get('retry-after')).toBeTruthy();

    // Room again (the filler goes, the limit is back): the same keys are claimed as new orders.
    await admin.config('SET', 'maxmemory', String(MAXMEMORY));
    for (let i = 0; i < fillerKeys; i += 500) await admin.del(...Array.from({ length: Math.min(500, fillerKeys - i) }, (_, k) => `filler:${i + k}`));
    // The gateway's client-side throttling saw the refusals: it lets calls through again over a few seconds.
    // Repeating with the same key is safe (the client's retry after a 503).
    const tokenAgain = await suite.token('u-full-sync-0');
    const again = await waitFor(
      async () => {
        const res = await http('POST', `${gw}/api/gifts/full-sync/claims`, { token: tokenAgain, headers: { 'idempotency-key': 'full-full-sync-0' }, body: {} });
        if (res.status === 503) return undefined;
        return res;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a claim to be served once Redis has room' },
    );
    // (An attempt the throttling let through may still be delivering when the next one asks.)
    expect(again?.body).toMatchObject({ orderId: 'full-full-sync-0', status: expect.stringMatching(/^(delivering|delivered)$/) });
    await waitForOrderStatus(gw, tokenAgain, 'full-full-sync-0', ['delivered'], 20_000);
    // (A scrape within 100 ms of the last reuses its INFO read: this can come that soon after the full one.)
    await waitFor(async () => gauge(await deliveryMetrics(suite!), 'rampart_redis_memory_headroom_ratio', node) > 0.5, { timeoutMs: 5_000, intervalMs: 150, what: 'the headroom gauge to show the room' });

    // The gateway counted no 500 on any route.
    const gatewayMetrics = await (await fetch(`${gw}/metrics`)).text();
    expect(gatewayMetrics.split('\n').filter((l) => l.startsWith('rampart_http_requests_total') && l.includes('status="500"'))).toEqual([]);
  }, 120_000);
});

async function deliveryMetrics(suite: Suite): Promise<string> {
  const ready = suite.deliveries[0].logs.find((l) => l.includes('"event":"app.ready"'));
  const port = /"httpPort":(\d+)/.exec(ready ?? '')?.[1];
  if (!port) throw new Error(`no httpPort in delivery's ready line: ${ready}`);
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function gauge(metrics: string, name: string, node: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`node="${node}"`));
  if (!line) throw new Error(`${name} for ${node} not in /metrics`);
  return Number(line.split(' ').pop());
}

function countBy(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
