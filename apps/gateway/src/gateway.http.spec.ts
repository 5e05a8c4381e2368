import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { AppError, ErrorCode, Patterns } from '@app/contracts';
import { loadGatewayConfig } from './config/gateway.config.js';
import { GatewayModule } from './gateway.module.js';
import { configureHttp, createGatewayAdapter } from './http/http-setup.js';
import type { Upstream } from './upstream/upstream.client.js';

const JWT_SECRET = 'inject-spec-jwt-secret-32-bytes-long!';
const ADMIN_TOKEN = 'inject-spec-admin-token-24+';
const config = loadGatewayConfig({ JWT_SECRET, ADMIN_TOKEN, BODY_LIMIT_BYTES: '2048', CORS_ORIGINS: 'http://localhost:*' });

const fakeUpstream = () => ({ call: jest.fn(), anyInstanceAnswers: jest.fn(async () => 'ok'), close: jest.fn(async () => undefined) });
const query = fakeUpstream();
const delivery = fakeUpstream();
let app: NestFastifyApplication;
let userToken: string;

const activity = {
  name: 'Spring festival',
  startsAt: '2026-01-01T00:00:00Z',
  endsAt: '2027-01-01T00:00:00Z',
  gifts: [{ giftId: 'g1', name: 'Skin', inventory: 10, provider: { url: 'http://127.0.0.1:7001' } }],
};

beforeAll(async () => {
  jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  const redis = { ping: async () => 'PONG', status: 'end' } as unknown as Redis;
  const upstreams: Record<string, Upstream> = { query, delivery };
  const module = GatewayModule.register(config, { redis: () => redis, upstream: (service) => upstreams[service] });
  app = await NestFactory.create<NestFastifyApplication>(module, createGatewayAdapter(config), { logger: false });
  configureHttp(app, config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  userToken = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
});

afterAll(() => app.close());
beforeEach(() => jest.clearAllMocks());

type InjectOptions = { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; headers?: Record<string, string>; payload?: string | object };
function inject(url: string, { method = 'GET', headers = {}, payload }: InjectOptions = {}, token: string | null = userToken) {
  const auth = token ? { authorization: `Bearer ${token}` } : {};
  return app.inject({ method, url, headers: { ...auth, ...headers }, payload });
}
const claim = (headers: Record<string, string>, payload?: string | object) =>
  inject('/api/gifts/g1/claims', { method: 'POST', headers: { 'idempotency-key': 'order-1', ...headers }, payload });

function expectError(res: Awaited<ReturnType<typeof inject>>, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode).toBe(status);
  const { error } = res.json() as { error: Record<string, unknown> };
  expect(error).toMatchObject({ code, message: expect.any(String), requestId: res.headers['x-request-id'] });
  expect(Object.keys(error).every((key) => ['code', 'message', 'requestId', 'details'].includes(key))).toBe(true);
  return error;
}

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
    expectError(await inject('/admin/activities/a1', { method: 'PUT', payload: activity }), 401, 'UNAUTHORIZED');
    expectError(await inject('/api/gifts/g1', {}, ADMIN_TOKEN), 401, 'UNAUTHORIZED');
  });

  it('reuses a well-formed X-Request-Id and replaces any other', async () => {
    expect((await inject('/nope', { headers: { 'x-request-id': 'trace-1.a:b' } })).headers['x-request-id']).toBe('trace-1.a:b');
    const replaced = await inject('/nope', { headers: { 'x-request-id': 'bad id!' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.json().error.requestId).toBe(replaced.headers['x-request-id']);
  });
});

describe('claims', () => {
  it('sends the claim to delivery and answers 200 when delivered, 202 otherwise', async () => {
    delivery.call.mockResolvedValueOnce({ orderId: 'order-1', status: 'delivered' });
    const delivered = await claim({}, {});
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json()).toEqual({ orderId: 'order-1', status: 'delivered' });
    expect(delivery.call).toHaveBeenCalledWith(
      Patterns.ClaimGift,
      { meta: { requestId: delivered.headers['x-request-id'] }, giftId: 'g1', userId: 'u1', orderId: 'order-1' },
      { timeoutMs: config.timeouts.slowMs, retryOnOtherInstance: false },
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
    expect(query.call).toHaveBeenCalledWith(Patterns.GetGift, expect.objectContaining({ giftId: 'g1' }), {
      timeoutMs: config.timeouts.fastMs,
      retryOnOtherInstance: true,
    });
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
      { timeoutMs: config.timeouts.slowMs, retryOnOtherInstance: false },
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
