import { randomUUID } from 'node:crypto';
import { expectError, http } from '../support/http.js';
import { providerStats, setFaults, waitForOrderStatus } from '../support/orders.js';
import type { RunningApp } from '../support/spawn-app.js';
import { waitFor } from '../support/wait-for.js';
import { demoActivity, startProviderWithoutOrderNumbers, startSuite, type Suite } from '../support/suite.js';

jest.setTimeout(90_000);

// Asynchronous delivery with real faults from the provider stub: a provider outage becomes a
// delay, never a lost or doubled gift.
describe('asynchronous delivery and provider faults', () => {
  let suite: Suite;
  let gw: string;
  let noOrderNumbers: RunningApp;
  let noOrderNumbersUrl: string;

  beforeAll(async () => {
    suite = await startSuite({
      deliveries: 2,
      deliveryEnv: {
        PROVIDER_TIMEOUT_MS: '500',
        QUEUE_ATTEMPTS: '4',
        QUEUE_BACKOFF_BASE_MS: '200',
        QUEUE_BACKOFF_MAX_MS: '800',
        SWEEP_INTERVAL_MS: '500',
      },
    });
    gw = suite.gatewayUrls[0];
    ({ app: noOrderNumbers, url: noOrderNumbersUrl } = await startProviderWithoutOrderNumbers());
  });
  afterAll(async () => {
    await noOrderNumbers?.stop();
    await suite?.stop();
  });
  afterEach(async () => {
    await setFaults(suite.providerUrl, {});
    await setFaults(noOrderNumbersUrl, {});
  });

  const publish = async (activityId: string, gifts: Array<Record<string, unknown>>, providerUrl = suite.providerUrl) => {
    const res = await http('PUT', `${gw}/admin/activities/${activityId}`, { token: suite.adminToken, body: demoActivity(providerUrl, gifts) });
    expect(res.status).toBeLessThan(300);
  };
  const claim = (giftId: string, token: string, key: string = randomUUID()) =>
    http('POST', `${gw}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': key }, body: {} });

  it('answers an async gift with 202 queued and delivers it through the queue', async () => {
    await publish('a-async', [{ giftId: 'async-g1', delivery: 'async' }]);
    const token = await suite.token('async-user');
    const res = await claim('async-g1', token, 'async-order-1');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ orderId: 'async-order-1', status: 'queued' });
    await waitForOrderStatus(gw, token, 'async-order-1', ['delivered']);
    expect((await providerStats(suite.providerUrl)).byOrder['async-order-1']).toEqual({ calls: 1, deliveries: 1 });
  });

  it('answers 202 within the timeout when the provider hangs, then delivers exactly once', async () => {
    await publish('a-hang', [{ giftId: 'hang-g1' }]);
    await setFaults(suite.providerUrl, { mode: 'hang-first' });
    const token = await suite.token('hang-user');
    const started = Date.now();
    const res = await claim('hang-g1', token, 'hang-order-1');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ orderId: 'hang-order-1', status: 'queued' });
    expect(Date.now() - started).toBeLessThan(2_500);
    const order = await waitForOrderStatus(gw, token, 'hang-order-1', ['delivered']);
    expect(order.attempts).toBeGreaterThanOrEqual(2);
    expect((await providerStats(suite.providerUrl)).byOrder['hang-order-1'].deliveries).toBe(1);
  });

  it('makes a read timeout uncertain without order numbers, never re-sends it, and caps uncertain orders', async () => {
    await publish('a-uncertain', [{ giftId: 'unc-g1', perUserLimit: 5, provider: { url: noOrderNumbersUrl, orderNumbers: false } }], noOrderNumbersUrl);
    // The provider delivers at once but answers after 1.5 s, past the 0.5 s provider timeout.
    await setFaults(noOrderNumbersUrl, { mode: 'answer-after-delay', latencyMs: 1_500 });
    const token = await suite.token('unc-user');
    const first = await claim('unc-g1', token, 'unc-order-1');
    expect(first.status).toBe(202);
    expect(first.body.status).toBe('uncertain');
    const second = await claim('unc-g1', token, 'unc-order-2');
    expect(second.body.status).toBe('uncertain');
    expectError(await claim('unc-g1', token), 429, 'TOO_MANY_UNCERTAIN');
    // Another user is not affected.
    expect((await claim('unc-g1', await suite.token('unc-other'))).status).toBe(202);

    // Over 15 s nothing is re-sent, and the orders stay uncertain (with their reservation).
    await new Promise((r) => setTimeout(r, 15_000));
    const stats = await providerStats(noOrderNumbersUrl);
    expect(stats.byOrder['unc-order-1']).toEqual({ calls: 1, deliveries: 1 });
    expect(stats.byOrder['unc-order-2']).toEqual({ calls: 1, deliveries: 1 });
    expect((await http('GET', `${gw}/api/orders/unc-order-1`, { token })).body.status).toBe('uncertain');
    expect((await http('GET', `${gw}/api/gifts/unc-g1`, { token })).body.remaining).toBe(997);
  });

  it('fails an order the provider refuses (4xx) and gives the unit back', async () => {
    await publish('a-reject', [{ giftId: 'rej-g1', inventory: 5, dailyLimit: 5 }]);
    await setFaults(suite.providerUrl, { mode: 'reject' });
    const token = await suite.token('rej-user');
    const res = await claim('rej-g1', token, 'rej-order-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orderId: 'rej-order-1', status: 'failed' });
    const order = (await http('GET', `${gw}/api/orders/rej-order-1`, { token })).body;
    expect(order).toMatchObject({ status: 'failed', error: expect.stringContaining('422') });
    expect((await http('GET', `${gw}/api/gifts/rej-g1`, { token })).body).toMatchObject({ remaining: 5, dailyRemaining: 5 });
    // The user's limit was given back too: a new claim goes through once the provider accepts.
    await setFaults(suite.providerUrl, {});
    expect((await claim('rej-g1', token)).status).toBe(200);
  });

  it('dead-letters an order after its attempts, releases it, and delivers it on manual retry', async () => {
    await publish('a-dead', [{ giftId: 'dead-g1', inventory: 3, dailyLimit: 3, delivery: 'async' }]);
    await setFaults(suite.providerUrl, { errorRate: 1 });
    const token = await suite.token('dead-user');
    expect((await claim('dead-g1', token, 'dead-order-1')).status).toBe(202);
    const failed = await waitForOrderStatus(gw, token, 'dead-order-1', ['failed']);
    expect(failed.attempts).toBe(4);
    expect((await http('GET', `${gw}/api/gifts/dead-g1`, { token })).body.remaining).toBe(3);
    // The job reaches the failed set (the dead letter) right after the order is failed.
    await waitFor(async () => (await http('GET', `${gw}/admin/queues`, { token: suite.adminToken })).body.failed >= 1, {
      timeoutMs: 5_000, what: 'the job in the failed set',
    });
    const deadLetters = await http('GET', `${gw}/admin/queues/failed`, { token: suite.adminToken });
    expect(deadLetters.body.failed).toEqual(expect.arrayContaining([expect.objectContaining({ orderId: 'dead-order-1', attempts: 4 })]));

    await setFaults(suite.providerUrl, {});
    const retry = await http('POST', `${gw}/admin/queues/failed/dead-order-1/retry`, { token: suite.adminToken });
    expect(retry.status).toBe(200);
    await waitForOrderStatus(gw, token, 'dead-order-1', ['delivered']);
    expect((await http('GET', `${gw}/api/gifts/dead-g1`, { token })).body.remaining).toBe(2);
    // No longer failed: a second retry conflicts with the order's status; an unknown order is 404.
    expectError(await http('POST', `${gw}/admin/queues/failed/dead-order-1/retry`, { token: suite.adminToken }), 409, 'CONFLICT');
    expectError(await http('POST', `${gw}/admin/queues/failed/no-such-order/retry`, { token: suite.adminToken }), 404, 'NOT_FOUND');
  });

  it('lets an operator resolve an uncertain order, releasing it when not delivered', async () => {
    await publish('a-resolve', [{ giftId: 'res-g1', inventory: 4, dailyLimit: 4, perUserLimit: 3, provider: { url: noOrderNumbersUrl, orderNumbers: false } }], noOrderNumbersUrl);
    await setFaults(noOrderNumbersUrl, { mode: 'answer-after-delay', latencyMs: 1_000 });
    const token = await suite.token('res-user');
    expect((await claim('res-g1', token, 'res-order-1')).body.status).toBe('uncertain');
    expect((await claim('res-g1', token, 'res-order-2')).body.status).toBe('uncertain');
    expectError(await claim('res-g1', token), 429, 'TOO_MANY_UNCERTAIN');

    const bad = await http('POST', `${gw}/admin/orders/res-order-1/resolve`, { token: suite.adminToken, body: { delivered: 'no' } });
    expectError(bad, 400, 'BAD_REQUEST');
    const resolved = await http('POST', `${gw}/admin/orders/res-order-1/resolve`, { token: suite.adminToken, body: { delivered: false, reason: 'provider says no' } });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toEqual({ orderId: 'res-order-1', status: 'failed' });
    const delivered = await http('POST', `${gw}/admin/orders/res-order-2/resolve`, { token: suite.adminToken, body: { delivered: true, reason: 'provider confirmed' } });
    expect(delivered.body.status).toBe('delivered');
    expectError(await http('POST', `${gw}/admin/orders/res-order-2/resolve`, { token: suite.adminToken, body: { delivered: true, reason: 'again' } }), 409, 'CONFLICT');
    // One unit came back, the user is below the uncertain limit again, and both actions are audited.
    expect((await http('GET', `${gw}/api/gifts/res-g1`, { token })).body.remaining).toBe(3);
    await setFaults(noOrderNumbersUrl, {});
    expect((await claim('res-g1', token)).status).toBe(200);
    const audit = await http('GET', `${gw}/admin/audit`, { token: suite.adminToken });
    expect(audit.body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'order.resolve.failed', target: 'res-order-1', reason: 'provider says no' })]));
  });

  it('streams order events over SSE, starting with the current status and ending after delivered', async () => {
    await publish('a-sse', [{ giftId: 'sse-g1', delivery: 'async' }]);
    await setFaults(suite.providerUrl, { latencyMs: 300 });
    const token = await suite.token('sse-user');
    expect((await claim('sse-g1', token, 'sse-order-1')).status).toBe(202);
    const res = await fetch(`${gw}/api/orders/sse-order-1/events`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // the stream ends by itself after the terminal status
    const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).status);
    expect(['queued', 'delivering', 'delivered']).toContain(statuses[0]);
    expect(statuses.at(-1)).toBe('delivered');
    expectError(await http('GET', `${gw}/api/orders/sse-order-1/events`, { token: await suite.token('someone-else') }), 404, 'NOT_FOUND');
  });
});
