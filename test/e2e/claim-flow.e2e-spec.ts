import { randomUUID } from 'node:crypto';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { expectError, http, type JsonResponse } from '../support/http.js';
import { claimUntilAnswered, readUntilServed } from '../support/orders.js';

jest.setTimeout(60_000);

// The foundation path through real processes: publish -> claim -> delivered -> read back,
// with idempotency, inventory and limits enforced by Redis under concurrency.
describe('claim flow (2 gateways, 1 query, 2 delivery, provider stub, real Redis)', () => {
  let suite: Suite;
  let gw: string;
  let gw2: string;
  const admin = () => ({ token: suite.adminToken });

  beforeAll(async () => {
    suite = await startSuite({ gateways: 2, queries: 1, deliveries: 2 });
    [gw, gw2] = suite.gatewayUrls;
  });
  afterAll(async () => suite?.stop());
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(suite.logs());
  });

  async function publish(activityId: string, gifts: Array<Record<string, unknown>>) {
    const res = await http('PUT', `${gw}/admin/activities/${activityId}`, { ...admin(), body: demoActivity(suite.providerUrl, gifts) });
    expect([200, 201]).toContain(res.status);
    return res;
  }
  const claim = (base: string, giftId: string, token: string, key: string = randomUUID()) =>
    http('POST', `${base}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': key }, body: {} });
  const providerStats = async () => (await http('GET', `${suite.providerUrl}/_stats`)).body;

  it('publishes, claims, delivers and reads the order back', async () => {
    await publish('a-flow', [{ giftId: 'flow-g1', inventory: 10, dailyLimit: 5 }]);
    const token = await suite.token('alice');
    const res = await claim(gw, 'flow-g1', token, 'flow-order-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orderId: 'flow-order-1', status: 'delivered' });

    const order = await http('GET', `${gw}/api/orders/flow-order-1`, { token });
    expect(order.status).toBe(200);
    expect(order.body).toMatchObject({ orderId: 'flow-order-1', giftId: 'flow-g1', activityId: 'a-flow', userId: 'alice', status: 'delivered', attempts: 1 });
    expect(Date.parse(order.body.createdAt)).toBeLessThanOrEqual(Date.parse(order.body.updatedAt));

    const mine = await http('GET', `${gw}/api/me/orders`, { token });
    expect(mine.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(['flow-order-1']);

    const gift = await http('GET', `${gw}/api/gifts/flow-g1`, { token });
    expect(gift.body).toEqual({ giftId: 'flow-g1', activityId: 'a-flow', name: 'Skin', remaining: 9, dailyRemaining: 4, perUserLimit: 1, delivery: 'sync' });
    const activity = await http('GET', `${gw}/api/activities/a-flow`, { token });
    expect(activity.body).toMatchObject({ activityId: 'a-flow', name: 'Spring festival', gifts: [{ giftId: 'flow-g1', remaining: 9 }] });

    // A repeat returns the same order and does not deliver again.
    const again = await claim(gw2, 'flow-g1', token, 'flow-order-1');
    expect(again.body).toEqual({ orderId: 'flow-order-1', status: 'delivered' });
    expect((await providerStats()).byOrder['flow-order-1']).toMatchObject({ calls: 1 });
  });

  it('answers 50 concurrent claims with one key through two gateways with one order and one provider call', async () => {
    await publish('a-concurrent', [{ giftId: 'conc-g1', inventory: 5 }]);
    const token = await suite.token('bob');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(i % 2 ? gw : gw2, 'conc-g1', token, 'conc-key')));
    const statuses = new Set(results.map((r) => r.status));
    expect([...statuses].every((s) => s === 200 || s === 202)).toBe(true);
    expect(new Set(results.map((r) => r.body.orderId))).toEqual(new Set(['conc-key']));
    expect((await providerStats()).byOrder['conc-key']).toEqual({ calls: 1, deliveries: 1 });
    // 50 claims at once can fill a door on a busy machine: the read repeats a shed as a client does.
    const gift = await readUntilServed(`${gw}/api/gifts/conc-g1`, token);
    expect(gift.status).toBe(200);
    expect(gift.body.remaining).toBe(4);
    const order = await http('GET', `${gw}/api/orders/conc-key`, { token });
    expect(order.body.status).toBe('delivered');
  });

  it('never oversells: 300 users against inventory 100', async () => {
    await publish('a-rush', [{ giftId: 'rush-g1', inventory: 100, dailyLimit: 100 }]);
    const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => suite.token(`rush-user-${i}`)));
    const results: JsonResponse[] = [];
    // 300 claims, 60 in flight at a time, alternating gateways. A claim shed at a door of a busy
    // machine (503, never handled) is repeated with its key, as a client does.
    for (let batch = 0; batch < 300; batch += 60) {
      results.push(...(await Promise.all(tokens.slice(batch, batch + 60).map(async (t, i) => (await claimUntilAnswered(`${i % 2 ? gw : gw2}/api/gifts/rush-g1/claims`, t, randomUUID(), Date.now() + 30_000))!))));
    }
    const delivered = results.filter((r) => r.status === 200);
    const soldOut = results.filter((r) => r.status === 409);
    expect(delivered).toHaveLength(100);
    expect(soldOut).toHaveLength(200);
    for (const r of soldOut) expectError(r, 409, 'SOLD_OUT');
    // Right after the rush a busy gateway may still shed reads at its door (503 with Retry-After).
    const gift = await readUntilServed(`${gw}/api/gifts/rush-g1`, tokens[0]!);
    expect(gift.body).toMatchObject({ remaining: 0, dailyRemaining: 0 });
  });

  it('enforces the per-user limit and lets other users claim', async () => {
    await publish('a-limit', [{ giftId: 'limit-g1', inventory: 10, perUserLimit: 2 }]);
    const carol = await suite.token('carol');
    expect((await claim(gw, 'limit-g1', carol)).status).toBe(200);
    expect((await claim(gw2, 'limit-g1', carol)).status).toBe(200);
    expectError(await claim(gw, 'limit-g1', carol), 409, 'USER_LIMIT_REACHED');
    expect((await claim(gw, 'limit-g1', await suite.token('dave'))).status).toBe(200);
  });

  it('refuses an idempotency key reused for another gift or another user', async () => {
    await publish('a-reuse', [{ giftId: 'reuse-g1' }, { giftId: 'reuse-g2' }]);
    const erin = await suite.token('erin');
    expect((await claim(gw, 'reuse-g1', erin, 'reuse-key')).status).toBe(200);
    expectError(await claim(gw, 'reuse-g2', erin, 'reuse-key'), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectError(await claim(gw, 'reuse-g1', await suite.token('frank'), 'reuse-key'), 422, 'IDEMPOTENCY_KEY_REUSED');
    // The other user cannot read the order either.
    expectError(await http('GET', `${gw}/api/orders/reuse-key`, { token: await suite.token('frank') }), 404, 'NOT_FOUND');
  });

  it('answers a repeat of a refused claim with the same refusal', async () => {
    await publish('a-refused', [{ giftId: 'refused-g1', inventory: 0, dailyLimit: undefined }]);
    const token = await suite.token('gina');
    expectError(await claim(gw, 'refused-g1', token, 'refused-key'), 409, 'SOLD_OUT');
    expectError(await claim(gw2, 'refused-g1', token, 'refused-key'), 409, 'SOLD_OUT');
    expectError(await http('GET', `${gw}/api/orders/refused-key`, { token }), 404, 'NOT_FOUND');
  });

  it('refuses claims outside the activity window with NOT_ACTIVE', async () => {
    const body = demoActivity(suite.providerUrl, [{ giftId: 'late-g1' }]);
    body.startsAt = new Date(Date.now() + 3_600_000).toISOString();
    body.endsAt = new Date(Date.now() + 7_200_000).toISOString();
    expect((await http('PUT', `${gw}/admin/activities/a-late`, { ...admin(), body })).status).toBeLessThan(300);
    expectError(await claim(gw, 'late-g1', await suite.token('hank')), 409, 'NOT_ACTIVE');
  });

  it('keeps what was consumed when an activity is re-published, and checks storage rules', async () => {
    await publish('a-repub', [{ giftId: 'repub-g1', inventory: 3, dailyLimit: 3, perUserLimit: 5 }]);
    const token = await suite.token('ivan');
    await claim(gw, 'repub-g1', token);
    await claim(gw, 'repub-g1', token);
    // Lowering below the 2 reserved is refused; raising keeps the 2 consumed.
    const lowered = await http('PUT', `${gw}/admin/activities/a-repub`, { ...admin(), body: demoActivity(suite.providerUrl, [{ giftId: 'repub-g1', inventory: 1, dailyLimit: 1 }]) });
    expect(expectError(lowered, 422, 'INVALID_CONFIG').details).toEqual([{ path: 'gifts[0].inventory', message: expect.stringContaining('2') }]);
    await publish('a-repub', [{ giftId: 'repub-g1', inventory: 10, dailyLimit: 10, perUserLimit: 5 }]);
    expect((await http('GET', `${gw}/api/gifts/repub-g1`, { token })).body.remaining).toBe(8);
    // A gift owned by another activity is refused.
    const stolen = await http('PUT', `${gw}/admin/activities/a-other`, { ...admin(), body: demoActivity(suite.providerUrl, [{ giftId: 'repub-g1' }]) });
    expect(expectError(stolen, 422, 'INVALID_CONFIG').details).toEqual([{ path: 'gifts[0].giftId', message: expect.stringContaining('a-repub') }]);
  });
});
