import { encodeOrderCursor, Patterns } from '@app/contracts';
import { ADMIN_TOKEN, delivery, expectError, query, useTestApp } from '../testing/test-app.js';

const { inject } = useTestApp();
const admin = (url: string, opts: Parameters<typeof inject>[1] = {}) => inject(url, opts, ADMIN_TOKEN);
const json = { 'content-type': 'application/json' };

describe('GET /admin/orders', () => {
  it('passes filters, the page size (default 20) and the decoded cursor to query', async () => {
    query.call.mockResolvedValue({ orders: [] });
    expect((await admin('/admin/orders')).statusCode).toBe(200);
    expect(query.call).toHaveBeenLastCalledWith(Patterns.AdminListOrders, expect.objectContaining({ limit: 20 }), expect.anything());
    const cursor = { m: 'g' as const, g: 'g1', s: 5, o: 'o9' };
    const res = await admin(`/admin/orders?status=uncertain&giftId=g1&limit=100&cursor=${encodeOrderCursor(cursor)}`);
    expect(res.statusCode).toBe(200);
    expect(query.call).toHaveBeenLastCalledWith(
      Patterns.AdminListOrders,
      { meta: { requestId: res.headers['x-request-id'] }, status: 'uncertain', giftId: 'g1', limit: 100, cursor },
      expect.anything(),
    );
  });

  it('refuses bad limits, statuses, cursors and cursors of another listing with 400, without calling query', async () => {
    const userCursor = encodeOrderCursor({ m: 'u', s: 5, o: 'o9' });
    const giftCursor = encodeOrderCursor({ m: 'g', g: 'g1', s: 5, o: 'o9' });
    for (const q of ['limit=0', 'limit=101', 'status=refused', 'cursor=%%%', 'cursor=abc', `cursor=${userCursor}`, `giftId=g2&cursor=${giftCursor}`, `userId=u1&cursor=${giftCursor}`, 'sort=asc']) {
      expectError(await admin(`/admin/orders?${q}`), 400, 'BAD_REQUEST');
    }
    expect(query.call).not.toHaveBeenCalled();
  });

  it('needs the admin token', async () => {
    expectError(await inject('/admin/orders'), 401, 'UNAUTHORIZED');
    expectError(await inject('/admin/orders/o1'), 401, 'UNAUTHORIZED');
  });
});

describe('admin changes carry the actor and reason', () => {
  it('sends X-Actor as admin:<name> with a discard, and refuses a malformed one before calling delivery', async () => {
    delivery.call.mockResolvedValueOnce({ orderId: 'o1', status: 'failed', discarded: true });
    const ok = await admin('/admin/queues/failed/o1/discard', { method: 'POST', headers: { ...json, 'x-actor': 'sre.alice' }, payload: { reason: 'gone' } });
    expect(ok.statusCode).toBe(200);
    expect(delivery.call).toHaveBeenCalledWith(Patterns.DiscardFailed, expect.objectContaining({ orderId: 'o1', actor: 'admin:sre.alice', reason: 'gone' }), expect.anything());
    expectError(await admin('/admin/queues/failed/o1/discard', { method: 'POST', headers: { ...json, 'x-actor': 'sre alice' }, payload: { reason: 'gone' } }), 400, 'BAD_REQUEST');
    expectError(await admin('/admin/queues/failed/o1/discard', { method: 'POST', headers: json, payload: {} }), 400, 'BAD_REQUEST');
    expect(delivery.call).toHaveBeenCalledTimes(1);
  });

  it('publishes with a reason, and plans (dryRun=true) through activity.plan without publishing', async () => {
    const config = {
      name: 'Spring', startsAt: '2026-01-01T00:00:00Z', endsAt: '2027-01-01T00:00:00Z',
      gifts: [{ giftId: 'g1', name: 'Skin', inventory: 10, provider: { url: 'http://127.0.0.1:7001' } }],
    };
    delivery.call.mockResolvedValueOnce({ activityId: 'a1', updated: true });
    const published = await admin('/admin/activities/a1', { method: 'PUT', headers: { ...json, 'x-actor': 'op' }, payload: { ...config, reason: 'restock' } });
    expect(published.statusCode).toBe(200);
    expect(delivery.call).toHaveBeenLastCalledWith(Patterns.PublishActivity, expect.objectContaining({ actor: 'admin:op', reason: 'restock' }), expect.anything());
    delivery.call.mockResolvedValueOnce({ activityId: 'a1', dryRun: true, changes: {} });
    const planned = await admin('/admin/activities/a1?dryRun=true', { method: 'PUT', headers: json, payload: config });
    expect(planned.statusCode).toBe(200);
    expect(delivery.call).toHaveBeenLastCalledWith(Patterns.PlanActivity, expect.objectContaining({ activityId: 'a1' }), expect.anything());
    expectError(await admin('/admin/activities/a1?dryRun=1', { method: 'PUT', headers: json, payload: config }), 400, 'BAD_REQUEST');
    expectError(await admin('/admin/activities/a1', { method: 'PUT', headers: json, payload: { ...config, reason: 42 } }), 400, 'BAD_REQUEST');
    expect(delivery.call).toHaveBeenCalledTimes(2);
  });
});
