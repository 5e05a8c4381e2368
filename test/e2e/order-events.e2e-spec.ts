import { chromium, type Browser } from 'playwright-core';
import { findChromium } from '../support/chromium.js';
import { expectError, http } from '../support/http.js';
import { setFaults } from '../support/orders.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';

jest.setTimeout(90_000);

const TICKET_TTL_S = 3;

// Order events for browsers: EventSource cannot send an Authorization header, so a short-lived
// ticket (one order, one user, one purpose) stands in for the user token on the event stream.
describe('order event stream tickets', () => {
  let suite: Suite;
  let gw: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    suite = await startSuite({ gatewayEnv: { EVENT_TICKET_TTL_S: String(TICKET_TTL_S) } });
    gw = suite.gatewayUrls[0];
    const body = demoActivity(suite.providerUrl, [{ giftId: 'ev-g1', delivery: 'async', perUserLimit: 10 }]);
    expect((await http('PUT', `${gw}/admin/activities/a-ev`, { token: suite.adminToken, body })).status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
    await suite?.stop();
  });

  const claim = async (userToken: string, orderId: string) =>
    expect((await http('POST', `${gw}/api/gifts/ev-g1/claims`, { token: userToken, headers: { 'idempotency-key': orderId }, body: {} })).status).toBe(202);
  const ticketFor = (userToken: string, orderId: string) => http('POST', `${gw}/api/orders/${orderId}/events/ticket`, { token: userToken });

  it('a browser EventSource follows an order to delivered with a ticket', async () => {
    const binary = await findChromium();
    browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, headless: true });
    const page = await browser.newPage();
    await page.goto(`${gw}/admin/`); // any page of the gateway's origin: the stream is same-origin
    await setFaults(suite.providerUrl, { latencyMs: 400 });
    const token = await suite.token('ev-user');
    await claim(token, 'ev-order-1');
    const issued = await ticketFor(token, 'ev-order-1');
    expect(issued.status).toBe(200);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(TICKET_TTL_S * 1000);
    const seen = await page.evaluate(async (url) => {
      return new Promise<{ statuses: string[]; ids: string[] }>((resolve, reject) => {
        const statuses: string[] = [];
        const ids: string[] = [];
        const source = new EventSource(url);
        const timer = setTimeout(() => reject(new Error(`no terminal status; saw ${statuses.join(',')}`)), 20_000);
        source.addEventListener('status', (event) => {
          const message = event as MessageEvent;
          statuses.push(JSON.parse(message.data).status);
          ids.push(message.lastEventId);
          if (statuses.at(-1) === 'delivered') {
            clearTimeout(timer);
            source.close();
            resolve({ statuses, ids });
          }
        });
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) reject(new Error('the stream was refused'));
        };
      });
    }, `/api/orders/ev-order-1/events?ticket=${encodeURIComponent(issued.body.ticket)}`);
    await setFaults(suite.providerUrl, {});
    expect(seen.statuses.at(-1)).toBe('delivered');
    // Each event's id is the order's version: increasing, so the stream never goes backwards.
    const versions = seen.ids.map(Number);
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1])).toBe(true);
  });

  it('streams with a ticket and no Authorization header, with id and retry fields', async () => {
    const token = await suite.token('ev-user-2');
    await claim(token, 'ev-order-2');
    const { ticket } = (await ticketFor(token, 'ev-order-2')).body;
    const res = await fetch(`${gw}/api/orders/ev-order-2/events?ticket=${encodeURIComponent(ticket)}`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^retry: \d+$/m);
    expect(text).toMatch(/^id: \d+\nevent: status\ndata: \{"orderId":"ev-order-2","status":"delivered"\}$/m);
  });

  it('refuses a ticket for another order, another user\'s order, a forged one, or one used as a user token', async () => {
    const alice = await suite.token('ev-alice');
    const bob = await suite.token('ev-bob');
    await claim(alice, 'ev-alice-1');
    await claim(alice, 'ev-alice-2');
    await claim(bob, 'ev-bob-1');
    expectError(await ticketFor(alice, 'ev-bob-1'), 404, 'NOT_FOUND');
    const { ticket } = (await ticketFor(alice, 'ev-alice-1')).body;
    expectError(await http('GET', `${gw}/api/orders/ev-alice-2/events?ticket=${encodeURIComponent(ticket)}`), 401, 'UNAUTHORIZED');
    expectError(await http('GET', `${gw}/api/orders/ev-bob-1/events?ticket=${encodeURIComponent(ticket)}`), 401, 'UNAUTHORIZED');
    const forged = `${ticket.slice(0, -4)}AAAA`;
    expectError(await http('GET', `${gw}/api/orders/ev-alice-1/events?ticket=${encodeURIComponent(forged)}`), 401, 'UNAUTHORIZED');
    // A user token is no ticket, and a ticket is no user token.
    expectError(await http('GET', `${gw}/api/orders/ev-alice-1/events?ticket=${encodeURIComponent(alice)}`), 401, 'UNAUTHORIZED');
    expectError(await http('GET', `${gw}/api/me/orders`, { token: ticket }), 401, 'UNAUTHORIZED');
    expectError(await http('GET', `${gw}/api/orders/ev-alice-1/events`), 401, 'UNAUTHORIZED');
  });

  it('refuses a ticket after it expires', async () => {
    const token = await suite.token('ev-late');
    await claim(token, 'ev-late-1');
    const { ticket } = (await ticketFor(token, 'ev-late-1')).body;
    await new Promise((r) => setTimeout(r, (TICKET_TTL_S + 1.2) * 1000));
    const res = await http('GET', `${gw}/api/orders/ev-late-1/events?ticket=${encodeURIComponent(ticket)}`);
    expect(expectError(res, 401, 'UNAUTHORIZED').message).toBe('ticket expired');
  });
});
