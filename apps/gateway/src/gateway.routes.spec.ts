import { AppError, ErrorCode, Patterns } from '@app/contracts';
import { ADMIN_TOKEN, config, delivery, expectError, query, useTestApp } from './testing/test-app.js';

const { inject } = useTestApp();
const claim = (headers: Record<string, string>, payload?: string | object) =>
  inject('/api/gifts/g1/claims', { method: 'POST', headers: { 'idempotency-key': 'order-1', ...headers }, payload });

const activity = {
  name: 'Spring festival',
  startsAt: '2026-01-01T00:00:00Z',
  endsAt: '2027-01-01T00:00:00Z',
  gifts: [{ giftId: 'g1', name: 'Skin', inventory: 10, provider: { url: 'http://127.0.0.1:7001' } }],
};

describe('claims', () => {
  it('sends the claim to delivery and answers 200 when delivered, 202 otherwise', async () => {
    delivery.call.mockResolvedValueOnce({ orderId: 'order-1', status: 'delivered' });
    const delivered = await claim({}, {});
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json()).toEqual({ orderId: 'order-1', status: 'delivered' });
    expect(delivery.call).toHaveBeenCalledWith(
      Patterns.ClaimGift,
      { meta: { requestId: delivered.headers['x-request-id'] }, giftId: 'g1', userId: 'u1', orderId: 'order-1' },
      expect.objectContaining({ timeoutMs: config.timeouts.slowMs, retryOnOtherInstance: false }),
    );
    delivery.call.mockResolvedValueOnce({ orderId: 'order-1', status: 'queued' });
    const queued = await claim({});
    expect(queued.statusCode).toBe(202);
    expect(queued.json()).toEqual({ orderId: 'order-1', status: 'queued' });
  });

  it('answers refusals with 409 and an upstream timeout with 503 and Retry-After', async () => {
    delivery.call.mockRejectedValueOnce(new AppError(ErrorCode.SoldOut, 'gift g1 has no inventory left'));
    expectError(await claim({}, {}), 409, 'SOLD_OUT');
    delivery.call.mockRejectedValueOnce(new AppError(ErrorCode.UpstreamTimeout, 'delivery service did not answer within 3000 ms'));
    const timedOut = await claim({}, {});
    expectError(timedOut, 503, 'SERVICE_UNAVAILABLE');
    expect(timedOut.headers['retry-after']).toBe('1');
  });

  it('answers an unexpected failure with a generic 500', async () => {
    delivery.call.mockRejectedValueOnce(new TypeError('cannot read properties of undefined (secret detail)'));
    const error = expectError(await claim({}, {}), 500, 'INTERNAL');
    expect(error.message).toBe('internal error');
  });
});

describe('reads', () => {
  it('reads a gift from query in the fast class', async () => {
    query.call.mockResolvedValueOnce({ giftId: 'g1' });
    const res = await inject('/api/gifts/g1');
    expect(res.statusCode).toBe(200);
    // The route's policy sets the fast timeout; retries are the policy's (no blind connect-refused retry below it).
    expect(query.call).toHaveBeenCalledWith(Patterns.GetGift, expect.objectContaining({ giftId: 'g1' }), expect.objectContaining({
      timeoutMs: config.timeouts.fastMs,
      retryOnOtherInstance: false,
    }));
  });

  it('answers an id that cannot exist with 404 without calling query', async () => {
    expectError(await inject('/api/gifts/bad%20id'), 404, 'NOT_FOUND');
    expect(query.call).not.toHaveBeenCalled();
  });

  it('lists the caller\'s orders with a checked limit', async () => {
    query.call.mockResolvedValue({ orders: [] });
    expect((await inject('/api/me/orders')).json()).toEqual({ orders: [] });
    expect(query.call).toHaveBeenLastCalledWith(Patterns.ListUserOrders, expect.objectContaining({ userId: 'u1', limit: 50 }), expect.anything());
    await inject('/api/me/orders?limit=200');
    expect(query.call).toHaveBeenLastCalledWith(Patterns.ListUserOrders, expect.objectContaining({ limit: 200 }), expect.anything());
    expectError(await inject('/api/me/orders?limit=201'), 400, 'BAD_REQUEST');
    expectError(await inject('/api/me/orders?limit=0'), 400, 'BAD_REQUEST');
    expectError(await inject('/api/me/orders?limit=ten'), 400, 'BAD_REQUEST');
    expectError(await inject('/api/me/orders?offset=1'), 400, 'BAD_REQUEST');
  });

  it('reads an order for the caller only', async () => {
    query.call.mockRejectedValueOnce(new AppError(ErrorCode.NotFound, 'order o1 does not exist'));
    expectError(await inject('/api/orders/o1'), 404, 'NOT_FOUND');
    expect(query.call).toHaveBeenCalledWith(Patterns.GetOrder, expect.objectContaining({ orderId: 'o1', userId: 'u1' }), expect.anything());
  });

  it('answers CORS only for configured origins on /api', async () => {
    query.call.mockResolvedValue({ giftId: 'g1' });
    const allowed = await inject('/api/gifts/g1', { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const denied = await inject('/api/gifts/g1', { headers: { origin: 'http://evil.example' } });
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('admin activities', () => {
  const put = (payload: object | string, id = 'a1') =>
    inject(`/admin/activities/${id}`, { method: 'PUT', payload, headers: { 'content-type': 'application/json' } }, ADMIN_TOKEN);

  it('publishes a valid configuration: 201 when created, 200 when updated', async () => {
    delivery.call.mockResolvedValueOnce({ activityId: 'a1', updated: false });
    const created = await put(activity);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ activityId: 'a1', updated: false });
    expect(delivery.call).toHaveBeenCalledWith(
      Patterns.PublishActivity,
      expect.objectContaining({ activityId: 'a1', actor: 'admin', config: expect.objectContaining({ name: 'Spring festival' }) }),
      expect.objectContaining({ timeoutMs: config.timeouts.slowMs, retryOnOtherInstance: false }),
    );
    delivery.call.mockResolvedValueOnce({ activityId: 'a1', updated: true });
    expect((await put(activity)).statusCode).toBe(200);
  });

  it('rejects unknown fields with 400 and rule violations with 422, listing each', async () => {
    const unknown = expectError(await put({ ...activity, colour: 'red' }), 400, 'BAD_REQUEST');
    expect(unknown.details).toEqual([{ path: 'colour', message: 'unknown field' }]);
    const invalid = expectError(await put({ ...activity, endsAt: '2025-01-01T00:00:00Z', gifts: [{ ...activity.gifts[0], dailyLimit: 11 }] }), 422, 'INVALID_CONFIG');
    expect((invalid.details as Array<{ path: string }>).map((d) => d.path).sort()).toEqual(['endsAt', 'gifts[0].dailyLimit']);
    expectError(await put('[]'), 400, 'BAD_REQUEST');
    expectError(await put(activity, 'bad%20id'), 400, 'BAD_REQUEST');
    expect(delivery.call).not.toHaveBeenCalled();
  });

  it('passes the INVALID_CONFIG details of delivery through', async () => {
    const details = [{ path: 'gifts[0].giftId', message: 'giftId "g1" belongs to activity a0' }];
    delivery.call.mockRejectedValueOnce(new AppError(ErrorCode.InvalidConfig, 'invalid activity configuration', { details }));
    expect(expectError(await put(activity), 422, 'INVALID_CONFIG').details).toEqual(details);
  });
});

