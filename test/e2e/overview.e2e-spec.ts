import { expectError, http } from '../support/http.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

/** The overview's additions to a gift and an activity, removed to compare with the single endpoints. */
const plainGift = ({ canClaim: _c, reason: _r, claimed: _n, orders: _o, ...gift }: Record<string, unknown>) => gift;
const plainActivity = ({ isOpen: _i, gifts, ...activity }: Record<string, any>) => ({ ...activity, gifts: gifts.map(plainGift) });

async function publish(suite: Suite, activityId: string, gifts: Array<Record<string, unknown>>, window?: { startsAt: string; endsAt: string }) {
  const res = await http('PUT', `${suite.gatewayUrls[0]}/admin/activities/${activityId}`, {
    token: suite.adminToken,
    body: { ...demoActivity(suite.providerUrl, gifts), ...window },
  });
  expect([200, 201]).toContain(res.status);
}

async function claim(suite: Suite, token: string, giftId: string, key: string): Promise<void> {
  const res = await http('POST', `${suite.gatewayUrls[0]}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': key }, body: {} });
  if (res.status !== 200) throw new Error(`claim ${giftId} answered ${res.status} ${res.text}`);
}

describe('overview and batch (real processes)', () => {
  let suite: Suite;
  let gw: string;
  let token: string;

  beforeAll(async () => {
    suite = await startSuite();
    gw = suite.gatewayUrls[0];
    token = await suite.token('ov-user');
    await publish(suite, 'a-ov', [
      { giftId: 'ov-g1', perUserLimit: 1 },
      { giftId: 'ov-g2', perUserLimit: 2, inventory: 50 },
      { giftId: 'ov-g3', inventory: 1 },
    ]);
    const later = { startsAt: new Date(Date.now() + 86_400_000).toISOString(), endsAt: new Date(Date.now() + 2 * 86_400_000).toISOString() };
    await publish(suite, 'a-ov-later', [{ giftId: 'ov-g4' }], later);
    await claim(suite, token, 'ov-g1', 'ov-order-1');
    await claim(suite, token, 'ov-g2', 'ov-order-2');
    await claim(suite, await suite.token('ov-other'), 'ov-g3', 'ov-order-3'); // sells ov-g3 out
  });
  afterAll(async () => suite?.stop());

  it('equals the composed parts: each activity, gift and the order list as the single endpoints answer them', async () => {
    const res = await http('GET', `${gw}/api/me/overview`, { token });
    expect(res.status).toBe(200);
    const overview = res.body;
    expect(overview.degraded).toEqual([]);

    const [activity, later, orders] = await Promise.all([
      http('GET', `${gw}/api/activities/a-ov`, { token }),
      http('GET', `${gw}/api/activities/a-ov-later`, { token }),
      http('GET', `${gw}/api/me/orders?limit=200`, { token }),
    ]);
    expect(overview.activities.map(plainActivity)).toEqual([activity.body, later.body]);
    expect(overview.orders).toEqual(orders.body.orders);
    for (const gift of overview.activities.flatMap((a: any) => a.gifts)) {
      expect(plainGift(gift)).toEqual((await http('GET', `${gw}/api/gifts/${gift.giftId}`, { token })).body);
      const mine = orders.body.orders.filter((o: any) => o.giftId === gift.giftId);
      expect(gift.orders).toEqual(mine);
    }

    const standing = overview.activities.flatMap((a: any) => a.gifts.map((g: any) => [g.giftId, g.canClaim, g.reason ?? null, g.claimed]));
    expect(standing).toEqual([
      ['ov-g1', false, 'USER_LIMIT_REACHED', 1],
      ['ov-g2', true, null, 1],
      ['ov-g3', false, 'SOLD_OUT', 0],
      ['ov-g4', false, 'NOT_ACTIVE', 0],
    ]);
    expect(overview.activities.map((a: any) => a.isOpen)).toEqual([true, false]);
    expect(overview.recommendations.map((g: any) => g.giftId)).toEqual(['ov-g2']);
  });

  it('agrees with what a claim answers: the gift it says is used up is refused with that code', async () => {
    const res = await http('POST', `${gw}/api/gifts/ov-g1/claims`, { token, headers: { 'idempotency-key': 'ov-order-again' }, body: {} });
    expectError(res, 409, 'USER_LIMIT_REACHED');
  });

  it('answers a batch of mixed valid and invalid sub-requests, each as its single request would', async () => {
    const res = await http('POST', `${gw}/api/batch`, {
      token,
      body: {
        requests: [
          { id: 'gift', method: 'GET', path: '/api/gifts/ov-g2' },
          { id: 'activity', method: 'GET', path: '/api/activities/a-ov' },
          { id: 'order', method: 'GET', path: '/api/orders/ov-order-1' },
          { id: 'othersOrder', method: 'GET', path: '/api/orders/ov-order-3' },
          { id: 'orders', method: 'GET', path: '/api/me/orders?limit=1' },
          { id: 'overview', method: 'GET', path: '/api/me/overview' },
          { id: 'noGift', method: 'GET', path: '/api/gifts/nope' },
          { id: 'claim', method: 'POST', path: '/api/gifts/ov-g2/claims' },
          { id: 'noRoute', method: 'GET', path: '/api/elsewhere' },
          { id: 'badLimit', method: 'GET', path: '/api/me/orders?limit=abc' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.responses.map((r: any) => [r.id, r]));
    expect(res.body.responses.map((r: any) => r.id)).toEqual(['gift', 'activity', 'order', 'othersOrder', 'orders', 'overview', 'noGift', 'claim', 'noRoute', 'badLimit']);
    const single = async (path: string) => (await http('GET', `${gw}${path}`, { token })).body;
    expect(byId.gift).toEqual({ id: 'gift', status: 200, body: await single('/api/gifts/ov-g2') });
    expect(byId.activity).toEqual({ id: 'activity', status: 200, body: await single('/api/activities/a-ov') });
    expect(byId.order).toEqual({ id: 'order', status: 200, body: await single('/api/orders/ov-order-1') });
    expect(byId.orders.body.orders).toHaveLength(1);
    expect(byId.overview.status).toBe(200);
    expect(byId.overview.body.degraded).toEqual([]);
    const errors = ['othersOrder', 'noGift', 'claim', 'noRoute', 'badLimit'].map((id) => [id, byId[id].status, byId[id].body.error.code]);
    expect(errors).toEqual([
      ['othersOrder', 404, 'NOT_FOUND'], // another user's order, as alone
      ['noGift', 404, 'NOT_FOUND'],
      ['claim', 405, 'BAD_REQUEST'],
      ['noRoute', 404, 'NOT_FOUND'],
      ['badLimit', 400, 'BAD_REQUEST'],
    ]);
    for (const id of ['othersOrder', 'noGift', 'claim', 'noRoute', 'badLimit']) {
      expect(byId[id].body.error.requestId).toBe(`${res.headers.get('x-request-id')}:${id}`);
    }
  });

  it('rejects a batch of more than 20, unknown fields and duplicate ids as a whole', async () => {
    const item = (i: number) => ({ id: `r${i}`, method: 'GET', path: '/api/gifts/ov-g1' });
    expectError(await http('POST', `${gw}/api/batch`, { token, body: { requests: Array.from({ length: 21 }, (_, i) => item(i)) } }), 400, 'BAD_REQUEST');
    expectError(await http('POST', `${gw}/api/batch`, { token, body: { requests: [item(1)], parallel: true } }), 400, 'BAD_REQUEST');
    expectError(await http('POST', `${gw}/api/batch`, { token, body: { requests: [item(1), item(1)] } }), 400, 'BAD_REQUEST');
    const twenty = await http('POST', `${gw}/api/batch`, { token, body: { requests: Array.from({ length: 20 }, (_, i) => item(i)) } });
    expect(twenty.status).toBe(200);
    expect(twenty.body.responses.every((r: any) => r.status === 200)).toBe(true);
  });
});

describe('overview with its non-essential dependency hung (real processes)', () => {
  const FAST_MS = 300;
  let suite: Suite;
  let gw: string;
  let token: string;

  beforeAll(async () => {
    // Only gift.recommend is slow (60 s: hung for the test's purpose); every other query message is not.
    suite = await startSuite({ env: { FAULT_RECOMMENDATIONS_DELAY_MS: '60000' }, gatewayEnv: { LOG_LEVEL: 'debug' } });
    gw = suite.gatewayUrls[0];
    token = await suite.token('ov-hung-user');
    await publish(suite, 'a-hung', [{ giftId: 'hung-g1' }]);
  });
  afterAll(async () => suite?.stop());

  it('answers within the fast budget with degraded naming recommendations, and logs each step at debug', async () => {
    const startedMs = performance.now();
    const res = await http('GET', `${gw}/api/me/overview`, { token });
    const tookMs = performance.now() - startedMs;
    expect(res.status).toBe(200);
    expect(res.body.degraded).toEqual(['recommendations']);
    expect(res.body).not.toHaveProperty('recommendations');
    expect(res.body.activities[0].gifts[0]).toMatchObject({ giftId: 'hung-g1', canClaim: true });
    expect(tookMs).toBeGreaterThanOrEqual(FAST_MS - 5);
    expect(tookMs).toBeLessThan(FAST_MS + 700); // the step's budget plus generous slack for 2 noisy cores; the hang is 60 s

    const requestId = res.headers.get('x-request-id')!;
    const line = await waitFor(() => suite.gateways[0].logs.find((l) => l.includes('"overview.loaded"') && l.includes(requestId)) ?? '', {
      timeoutMs: 5_000,
      what: 'the overview debug line',
    });
    const logged = JSON.parse(line.slice(line.indexOf('{')));
    const message = logged.message ?? logged;
    expect(message.degraded).toEqual(['recommendations']);
    expect(Object.fromEntries(message.steps.map((s: any) => [s.step, s.outcome]))).toEqual({
      activities: 'ok', orders: 'ok', eligibility: 'ok', recommendations: 'timeout',
    });
  });

  it('still answers single reads at normal speed: only the recommendation branch is slow', async () => {
    const startedMs = performance.now();
    expect((await http('GET', `${gw}/api/gifts/hung-g1`, { token })).status).toBe(200);
    expect(performance.now() - startedMs).toBeLessThan(FAST_MS);
  });
});
