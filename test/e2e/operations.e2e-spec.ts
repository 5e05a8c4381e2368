import { randomUUID } from 'node:crypto';
import { expectError, http } from '../support/http.js';
import { startRedisServer } from '../support/redis.js';
import { httpUrlOf } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(60_000);

/** The value of one sample (`name{labels}`) in a Prometheus text scrape, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// What SREs rely on: metrics that move with traffic, readiness that tells the truth about Redis.
describe('operations', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let suite: Suite;
  let gw: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    suite = await startSuite({ redisUrl: redis.url, deliveryEnv: { LOG_LEVEL: 'debug' } });
    gw = suite.gatewayUrls[0];
    const res = await http('PUT', `${gw}/admin/activities/a-ops`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: 'ops-g1' }]) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await suite?.stop();
    await redis?.stop();
  });

  it('exposes Prometheus metrics on every app that change with traffic', async () => {
    const queryMetrics = `${httpUrlOf(suite.queries[0])}/metrics`;
    const deliveryMetrics = `${httpUrlOf(suite.deliveries[0])}/metrics`;
    const scrape = async () => ({
      gateway: (await http('GET', `${gw}/metrics`)).text,
      query: (await http('GET', queryMetrics)).text,
      delivery: (await http('GET', deliveryMetrics)).text,
    });
    const before = await scrape();
    const token = await suite.token('ops-user');
    for (let i = 0; i < 5; i++) expect((await http('GET', `${gw}/api/gifts/ops-g1`, { token })).status).toBe(200);
    expect((await http('POST', `${gw}/api/gifts/ops-g1/claims`, { token, headers: { 'idempotency-key': randomUUID() }, body: {} })).status).toBe(200);
    const after = await scrape();

    const giftRoute = { route: '/api/gifts/:giftId', status: '200' };
    expect(sample(after.gateway, 'rampart_http_requests_total', giftRoute) - sample(before.gateway, 'rampart_http_requests_total', giftRoute)).toBe(5);
    expect(sample(after.query, 'rampart_messages_total', { pattern: 'gift.get', outcome: 'ok' }) - sample(before.query, 'rampart_messages_total', { pattern: 'gift.get', outcome: 'ok' })).toBe(5);
    expect(sample(after.delivery, 'rampart_deliveries_total', { outcome: 'delivered' }) - sample(before.delivery, 'rampart_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(sample(after.gateway, 'rampart_upstream_state', { service: 'query' })).toBe(0);
    expect(after.delivery).toMatch(/^rampart_queue_jobs\{.*state="failed".*\} \d+/m);
    expect(after.gateway).toMatch(/^process_cpu_seconds_total/m);
    // Label cardinality stays bounded: no user or order ids in any label.
    for (const text of Object.values(after)) expect(text).not.toMatch(/ops-user|orderId|userId=/);
  });

  it('returns the request id given by the client in answers, errors and service logs', async () => {
    const token = await suite.token('ops-user-2');
    const requestId = `ops-${randomUUID()}`;
    const res = await http('POST', `${gw}/api/gifts/nope/claims`, { token, headers: { 'idempotency-key': randomUUID(), 'x-request-id': requestId }, body: {} });
    expect(expectError(res, 404, 'NOT_FOUND').requestId).toBe(requestId);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    // The id crossed the TCP hop: the delivery service's debug log of the claim's steps carries it.
    const line = await waitFor(() => suite.deliveries[0].logs.find((l) => l.includes('"claim.steps"') && l.includes(requestId)), {
      timeoutMs: 5_000, what: 'the claim.steps debug line',
    });
    expect(JSON.parse(line!)).toMatchObject({ bindMs: expect.any(Number), reserveMs: expect.any(Number), totalMs: expect.any(Number) });
    // No secret reaches the logs.
    for (const app of [...suite.gateways, ...suite.deliveries]) expect(app.logs.join('\n')).not.toContain(token);
  });

  it('answers 503 (never 500) when Redis dies under load, turns readiness to 503 naming Redis, and recovers', async () => {
    const urls = [`${gw}/health/ready`, ...[...suite.queries, ...suite.deliveries].map((a) => `${httpUrlOf(a)}/health/ready`)];
    for (const url of urls) expect((await http('GET', url)).status).toBe(200);
    // Redis dies (kill -9) under load: calls in flight and calls meanwhile answer 503, never 500.
    const token = await suite.token('ops-user-3');
    let isDead = false;
    const statuses: number[] = [];
    const load = Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 40; i++) {
        const res = await http('GET', `${gw}/api/gifts/ops-g1`, { token });
        statuses.push(res.status);
        if (res.status !== 200) {
          expectError(res, 503, 'SERVICE_UNAVAILABLE');
          expect(res.headers.get('retry-after')).toBeTruthy();
        }
        if (isDead && i > 20) break;
      }
    }));
    await new Promise((r) => setTimeout(r, 100));
    redis.child.kill('SIGKILL');
    await new Promise((r) => redis.child.once('exit', r));
    isDead = true;
    await load;
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    for (const url of urls) {
      const res = await waitFor(async () => {
        const r = await http('GET', url);
        return r.status === 503 ? r : undefined;
      }, { timeoutMs: 10_000, what: `${url} to turn 503` }) as Awaited<ReturnType<typeof http>>;
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(res.body.error)).toContain('redis');
    }
    const claim = await http('POST', `${gw}/api/gifts/ops-g1/claims`, { token, headers: { 'idempotency-key': randomUUID() }, body: {} });
    expectError(claim, 503, 'SERVICE_UNAVAILABLE');
    // Liveness is not readiness: the processes still live.
    expect((await http('GET', `${gw}/health/live`)).status).toBe(200);
    redis = await startRedisServer({ port: redis.port, dir: redis.dir });
    for (const url of urls) {
      await waitFor(async () => (await http('GET', url)).status === 200, { timeoutMs: 15_000, what: `${url} to be ready again` });
    }
  });
});
