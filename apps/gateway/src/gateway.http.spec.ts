import { ADMIN_TOKEN, delivery, expectError, useTestApp } from './testing/test-app.js';

const { inject } = useTestApp();
const claim = (headers: Record<string, string>, payload?: string | object) =>
  inject('/api/gifts/g1/claims', { method: 'POST', headers: { 'idempotency-key': 'order-1', ...headers }, payload });

describe('gateway HTTP edge', () => {
  it('answers malformed JSON with a 400 in the error shape', async () => {
    expectError(await claim({ 'content-type': 'application/json' }, '{"oops'), 400, 'BAD_REQUEST');
    expectError(await claim({ 'content-type': 'application/json' }, ''), 400, 'BAD_REQUEST');
    expect(delivery.call).not.toHaveBeenCalled();
  });

  it('answers an unsupported content type with 415', async () => {
    expectError(await claim({ 'content-type': 'application/xml' }, '<a/>'), 415, 'BAD_REQUEST');
  });

  it('answers an oversize body with 413', async () => {
    expectError(await claim({ 'content-type': 'application/json' }, { pad: 'x'.repeat(4096) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects unknown fields with 400 and names them', async () => {
    const error = expectError(await claim({}, { quantity: 2 }), 400, 'BAD_REQUEST');
    expect(error.details).toEqual([{ path: 'body.quantity', message: 'unknown field' }]);
  });

  it('answers an unknown route or method with the 404 shape', async () => {
    expectError(await inject('/nope'), 404, 'NOT_FOUND');
    expectError(await inject('/api/gifts/g1', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });

  it('requires a valid Idempotency-Key', async () => {
    expectError(await inject('/api/gifts/g1/claims', { method: 'POST', payload: {} }), 400, 'BAD_REQUEST');
    expectError(await claim({ 'idempotency-key': 'has space' }, {}), 400, 'BAD_REQUEST');
    expectError(await claim({ 'idempotency-key': 'k'.repeat(129) }, {}), 400, 'BAD_REQUEST');
  });

  it('requires a user token on /api and the admin token on /admin', async () => {
    expectError(await inject('/api/gifts/g1', {}, null), 401, 'UNAUTHORIZED');
    expectError(await inject('/api/gifts/g1', {}, 'garbage'), 401, 'UNAUTHORIZED');
    expectError(await inject('/admin/activities/a1', { method: 'PUT', payload: {} }), 401, 'UNAUTHORIZED');
    expectError(await inject('/api/gifts/g1', {}, ADMIN_TOKEN), 401, 'UNAUTHORIZED');
  });

  it('reuses a well-formed X-Request-Id and replaces any other', async () => {
    expect((await inject('/nope', { headers: { 'x-request-id': 'trace-1.a:b' } })).headers['x-request-id']).toBe('trace-1.a:b');
    const replaced = await inject('/nope', { headers: { 'x-request-id': 'bad id!' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.json().error.requestId).toBe(replaced.headers['x-request-id']);
  });
});

describe('health', () => {
  it('is live, and ready when Redis and both services answer', async () => {
    expect((await inject('/health/live', {}, null)).statusCode).toBe(200);
    expect((await inject('/health/ready', {}, null)).json()).toEqual({ status: 'ok', checks: { redis: 'ok', query: 'ok', delivery: 'ok' } });
  });

  it('is not ready when a service has no instance answering', async () => {
    delivery.anyInstanceAnswers.mockResolvedValueOnce('no delivery instance answered ping within 300 ms');
    const res = await inject('/health/ready', {}, null);
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.json().error.details).toContainEqual({ path: 'delivery', message: 'no delivery instance answered ping within 300 ms' });
  });
});
