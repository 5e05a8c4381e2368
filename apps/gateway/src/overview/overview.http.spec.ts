import { AppError, ErrorCode, Patterns } from '@app/contracts';
import { expectError, query, useTestApp } from '../testing/test-app.js';

const { inject } = useTestApp();

const HOUR_MS = 3_600_000;
const gift = (giftId: string, o: Record<string, unknown> = {}) => ({
  giftId, activityId: 'a1', name: 'Skin', remaining: 10, dailyRemaining: 5, perUserLimit: 1, delivery: 'sync', ...o,
});
const activity = (activityId: string, gifts: unknown[], window = { from: -HOUR_MS, to: HOUR_MS }) => ({
  activityId, name: 'Spring', startsAt: new Date(Date.now() + window.from).toISOString(), endsAt: new Date(Date.now() + window.to).toISOString(), gifts,
});
const order = (orderId: string, giftId: string, status: string) => ({
  orderId, giftId, activityId: 'a1', userId: 'u1', status, attempts: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
});

const activities = [
  activity('a1', [gift('g1'), gift('g2', { perUserLimit: 2 }), gift('g3', { remaining: 0 }), gift('g4', { dailyRemaining: 0 })]),
  activity('a2', [gift('g5', { activityId: 'a2' })], { from: HOUR_MS, to: 2 * HOUR_MS }),
];
const orders = [order('o3', 'g2', 'failed'), order('o2', 'g2', 'delivered'), order('o1', 'g1', 'delivered')];

/** Answers query calls by pattern; `overrides` replace single patterns (e.g. a failure). */
function answer(overrides: Partial<Record<string, (payload: any) => Promise<unknown>>> = {}) {
  query.call.mockImplementation(async (pattern: string, payload: any) => {
    const override = overrides[pattern];
    if (override) return override(payload);
    switch (pattern) {
      case Patterns.ListActivities: return { activities };
      case Patterns.ListUserOrders: return { orders };
      case Patterns.Recommendations: return { gifts: [gift('g2', { perUserLimit: 2 })] };
      case Patterns.GetGift: return payload.giftId === 'g1' ? gift('g1') : Promise.reject(new AppError(ErrorCode.NotFound, `gift ${payload.giftId} does not exist`));
      case Patterns.GetActivity: return activities[0];
      case Patterns.GetOrder: return orders[2];
      default: throw new Error(`unexpected ${pattern}`);
    }
  });
}
const patternsCalled = () => query.call.mock.calls.map(([pattern]) => pattern as string);

describe('GET /api/me/overview', () => {
  it('composes activities, per-gift eligibility, orders and recommendations', async () => {
    answer();
    const res = await inject('/api/me/overview');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.degraded).toEqual([]);
    expect(body.orders).toEqual(orders);
    expect(body.recommendations).toEqual([gift('g2', { perUserLimit: 2 })]);
    const gifts = body.activities[0].gifts.map((g: any) => [g.giftId, g.canClaim, g.reason, g.claimed, g.orders.map((o: any) => o.orderId)]);
    expect(gifts).toEqual([
      ['g1', false, 'USER_LIMIT_REACHED', 1, ['o1']],
      ['g2', true, undefined, 1, ['o3', 'o2']], // a failed order does not count against the limit
      ['g3', false, 'SOLD_OUT', 0, []],
      ['g4', false, 'DAILY_LIMIT_REACHED', 0, []],
    ]);
    expect(body.activities[0]).toMatchObject({ activityId: 'a1', isOpen: true });
    expect(body.activities[1]).toMatchObject({ activityId: 'a2', isOpen: false, gifts: [{ giftId: 'g5', canClaim: false, reason: 'NOT_ACTIVE' }] });
    const userOrders = query.call.mock.calls.find(([p]) => p === Patterns.ListUserOrders)!;
    expect(userOrders[1]).toEqual({ meta: { requestId: res.headers['x-request-id'] }, userId: 'u1', limit: 200 });
  });

  it('starts the three calls together, before any of them answered', async () => {
    const pending: Array<() => void> = [];
    const hold = (value: unknown) => () => new Promise((resolve) => pending.push(() => resolve(value)));
    answer({
      [Patterns.ListActivities]: hold({ activities }),
      [Patterns.ListUserOrders]: hold({ orders }),
      [Patterns.Recommendations]: hold({ gifts: [] }),
    });
    const res = inject('/api/me/overview');
    for (let i = 0; i < 50 && pending.length < 3; i++) await new Promise((r) => setTimeout(r, 2));
    expect(patternsCalled().sort()).toEqual([Patterns.ListActivities, Patterns.ListUserOrders, Patterns.Recommendations].sort());
    pending.forEach((release) => release());
    expect((await res).statusCode).toBe(200);
  });

  it('leaves out failed recommendations and names them in degraded', async () => {
    answer({ [Patterns.Recommendations]: () => Promise.reject(new AppError(ErrorCode.CircuitOpen, 'circuit open')) });
    const res = await inject('/api/me/overview');
    expect(res.statusCode).toBe(200);
    expect(res.json().degraded).toEqual(['recommendations']);
    expect(res.json()).not.toHaveProperty('recommendations');
    expect(res.json().activities).toHaveLength(2);
  });

  it('fails with 503 SERVICE_UNAVAILABLE when an essential part times out', async () => {
    answer({ [Patterns.ListUserOrders]: () => Promise.reject(new AppError(ErrorCode.UpstreamTimeout, 'query did not answer within 300 ms')) });
    expectError(await inject('/api/me/overview'), 503, 'SERVICE_UNAVAILABLE');
  });

  it('answers 404 when an essential part says so, and 401 without a token', async () => {
    answer({ [Patterns.ListActivities]: () => Promise.reject(new AppError(ErrorCode.NotFound, 'nothing')) });
    expectError(await inject('/api/me/overview'), 404, 'NOT_FOUND');
    expectError(await inject('/api/me/overview', {}, null), 401, 'UNAUTHORIZED');
  });
});

describe('POST /api/batch', () => {
  const batch = (requests: unknown, token?: string | null) => inject('/api/batch', { method: 'POST', payload: { requests } }, token);

  it('answers each sub-request with its own status and body, in request order', async () => {
    answer();
    const res = await batch([
      { id: 'gift', method: 'GET', path: '/api/gifts/g1' },
      { id: 'missing', method: 'GET', path: '/api/gifts/nope' },
      { id: 'post', method: 'POST', path: '/api/gifts/g1/claims' },
      { id: 'unknown', method: 'GET', path: '/api/nothing' },
      { id: 'orders', method: 'GET', path: '/api/me/orders?limit=2' },
      { id: 'badLimit', method: 'GET', path: '/api/me/orders?limit=0' },
      { id: 'overview', method: 'GET', path: '/api/me/overview' },
      { id: 'act', method: 'GET', path: '/api/activities/a1' },
      { id: 'ord', method: 'GET', path: '/api/orders/o1' },
      { id: 'badId', method: 'GET', path: '/api/gifts/has%20space' },
      { id: 'dotdot', method: 'GET', path: '/api/gifts/../orders/o1' },
    ]);
    expect(res.statusCode).toBe(200);
    const requestId = res.headers['x-request-id'];
    const responses = res.json().responses as Array<{ id: string; status: number; body: any }>;
    expect(responses.map((r) => [r.id, r.status, r.body.error?.code])).toEqual([
      ['gift', 200, undefined],
      ['missing', 404, 'NOT_FOUND'],
      ['post', 405, 'BAD_REQUEST'],
      ['unknown', 404, 'NOT_FOUND'],
      ['orders', 200, undefined],
      ['badLimit', 400, 'BAD_REQUEST'],
      ['overview', 200, undefined],
      ['act', 200, undefined],
      ['ord', 200, undefined],
      ['badId', 404, 'NOT_FOUND'],
      ['dotdot', 404, 'NOT_FOUND'],
    ]);
    expect(responses[0].body).toEqual(gift('g1'));
    expect(responses[1].body.error).toEqual({ code: 'NOT_FOUND', message: 'gift nope does not exist', requestId: `${requestId}:missing` });
    expect(responses[6].body.degraded).toEqual([]);
    // The same controller methods as single requests: the limit reaches query as it would alone.
    const list = query.call.mock.calls.find(([p, payload]) => p === Patterns.ListUserOrders && payload.limit === 2);
    expect(list?.[1]).toEqual({ meta: { requestId: `${requestId}:orders` }, userId: 'u1', limit: 2 });
  });

  it('fetches identical paths once', async () => {
    answer();
    const res = await batch([
      { id: 'a', method: 'GET', path: '/api/gifts/g1' },
      { id: 'b', method: 'GET', path: '/api/gifts/g1' },
    ]);
    expect(res.json().responses.map((r: any) => r.status)).toEqual([200, 200]);
    expect(patternsCalled()).toEqual([Patterns.GetGift]);
  });

  it('runs at most 6 sub-requests at once', async () => {
    let running = 0;
    let most = 0;
    answer({
      [Patterns.GetGift]: async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return gift('g1');
      },
    });
    const requests = Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, method: 'GET', path: `/api/gifts/g${i}` }));
    const res = await batch(requests);
    expect(res.json().responses).toHaveLength(20);
    expect(res.json().responses.every((r: any) => r.status === 200)).toBe(true);
    expect(most).toBe(6);
  });

  it.each([
    ['more than 20 requests', Array.from({ length: 21 }, (_, i) => ({ id: `r${i}`, method: 'GET', path: '/api/gifts/g1' }))],
    ['no requests', []],
    ['an unknown field in a request', [{ id: 'a', method: 'GET', path: '/api/gifts/g1', headers: {} }]],
    ['a missing path', [{ id: 'a', method: 'GET' }]],
    ['a malformed id', [{ id: 'a b', method: 'GET', path: '/api/gifts/g1' }]],
    ['duplicate ids', [{ id: 'a', method: 'GET', path: '/api/gifts/g1' }, { id: 'a', method: 'GET', path: '/api/gifts/g2' }]],
  ])('answers %s with a whole 400', async (_name, requests) => {
    answer();
    expectError(await batch(requests), 400, 'BAD_REQUEST');
    expect(query.call).not.toHaveBeenCalled();
  });

  it('rejects unknown top-level fields and needs a user token', async () => {
    expectError(await inject('/api/batch', { method: 'POST', payload: { requests: [], extra: 1 } }), 400, 'BAD_REQUEST');
    expectError(await batch([{ id: 'a', method: 'GET', path: '/api/gifts/g1' }], null), 401, 'UNAUTHORIZED');
  });
});
