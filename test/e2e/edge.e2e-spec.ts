import { randomUUID } from 'node:crypto';
import { expectError, http } from '../support/http.js';
import { startApp, tail, type AppName } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';

jest.setTimeout(60_000);

// The HTTP edge against real processes: authentication, bad input (always 4xx with the error
// shape, never a 5xx), and configuration errors at start-up.
describe('gateway edge', () => {
  let suite: Suite;
  let gw: string;
  let token: string;

  beforeAll(async () => {
    suite = await startSuite();
    gw = suite.gatewayUrls[0];
    token = await suite.token('edge-user');
    const res = await http('PUT', `${gw}/admin/activities/a-edge`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: 'edge-g1' }]) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => suite?.stop());

  const claimUrl = () => `${gw}/api/gifts/edge-g1/claims`;

  describe('authentication', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a malformed bearer', 'not-a-jwt'],
      ['an admin token on a user route', 'ADMIN'],
    ])('answers 401 for %s', async (_name, bearer) => {
      const auth = bearer === 'ADMIN' ? suite.adminToken : bearer;
      expectError(await http('GET', `${gw}/api/gifts/edge-g1`, { token: auth }), 401, 'UNAUTHORIZED');
    });

    it('answers 401 for an expired token and one signed with another secret', async () => {
      expectError(await http('GET', `${gw}/api/me/orders`, { token: await suite.token('edge-user', { expiresInS: -60 }) }), 401, 'UNAUTHORIZED');
      expectError(await http('GET', `${gw}/api/me/orders`, { token: await suite.token('edge-user', { secret: 'x'.repeat(40) }) }), 401, 'UNAUTHORIZED');
    });

    it('answers 401 on admin routes without the admin token, or with a user token', async () => {
      expectError(await http('GET', `${gw}/admin/flags`), 401, 'UNAUTHORIZED');
      expectError(await http('GET', `${gw}/admin/flags`, { token }), 401, 'UNAUTHORIZED');
      expectError(await http('PUT', `${gw}/admin/activities/a-x`, { token, body: {} }), 401, 'UNAUTHORIZED');
    });
  });

  describe('bad input', () => {
    const bad: Array<[string, () => Promise<Awaited<ReturnType<typeof http>>>, number, string]> = [
      ['malformed JSON', () => http('POST', claimUrl(), { token, headers: { 'idempotency-key': 'k-json' }, rawBody: '{"a":' }), 400, 'BAD_REQUEST'],
      ['an unknown field in a claim body', () => http('POST', claimUrl(), { token, headers: { 'idempotency-key': 'k-field' }, body: { quantity: 2 } }), 400, 'BAD_REQUEST'],
      ['a missing Idempotency-Key', () => http('POST', claimUrl(), { token, body: {} }), 400, 'BAD_REQUEST'],
      ['a malformed Idempotency-Key', () => http('POST', claimUrl(), { token, headers: { 'idempotency-key': 'has space' }, body: {} }), 400, 'BAD_REQUEST'],
      ['a too long Idempotency-Key', () => http('POST', claimUrl(), { token, headers: { 'idempotency-key': 'k'.repeat(129) }, body: {} }), 400, 'BAD_REQUEST'],
      ['an oversized body', () => http('PUT', `${gw}/admin/activities/a-big`, { token: suite.adminToken, rawBody: JSON.stringify({ name: 'x'.repeat(100_000) }) }), 413, 'PAYLOAD_TOO_LARGE'],
      ['an unknown gift', () => http('GET', `${gw}/api/gifts/nope`, { token }), 404, 'NOT_FOUND'],
      ['a claim of an unknown gift', () => http('POST', `${gw}/api/gifts/nope/claims`, { token, headers: { 'idempotency-key': randomUUID() }, body: {} }), 404, 'NOT_FOUND'],
      ['an unknown order', () => http('GET', `${gw}/api/orders/nope`, { token }), 404, 'NOT_FOUND'],
      ['an unknown activity', () => http('GET', `${gw}/api/activities/nope`, { token }), 404, 'NOT_FOUND'],
      ['an unknown route', () => http('GET', `${gw}/api/nothing-here`, { token }), 404, 'NOT_FOUND'],
      ['a bad orders limit', () => http('GET', `${gw}/api/me/orders?limit=0`, { token }), 400, 'BAD_REQUEST'],
      ['an unknown flag', () => http('PUT', `${gw}/admin/flags/no.such.flag`, { token: suite.adminToken, body: { enabled: true, reason: 'x' } }), 404, 'NOT_FOUND'],
      ['a flag body without reason', () => http('PUT', `${gw}/admin/flags/report.disabled`, { token: suite.adminToken, body: { enabled: true } }), 400, 'BAD_REQUEST'],
      ['an activity body that is an array', () => http('PUT', `${gw}/admin/activities/a-arr`, { token: suite.adminToken, body: [1, 2] }), 400, 'BAD_REQUEST'],
      ['an activity with unknown fields', () => http('PUT', `${gw}/admin/activities/a-unk`, { token: suite.adminToken, body: { ...demoActivity(suite.providerUrl), colour: 'red' } }), 400, 'BAD_REQUEST'],
    ];
    it.each(bad)('answers %s with the error shape', async (_name, send, status, code) => {
      const res = await send();
      const error = expectError(res, status, code);
      expect(error.requestId).toBe(res.headers.get('x-request-id'));
    });

    it('lists every violation of an activity config in one 422', async () => {
      const body = demoActivity(suite.providerUrl, [{ giftId: 'v1', dailyLimit: 5000 }, { giftId: 'v1', perUserLimit: 0, provider: { url: 'ftp://x' } }]);
      body.endsAt = body.startsAt;
      const error = expectError(await http('PUT', `${gw}/admin/activities/a-invalid`, { token: suite.adminToken, body }), 422, 'INVALID_CONFIG');
      expect((error.details as Array<{ path: string }>).map((d) => d.path).sort()).toEqual(
        ['endsAt', 'gifts[0].dailyLimit', 'gifts[1].giftId', 'gifts[1].perUserLimit', 'gifts[1].provider.url'].sort(),
      );
    });

    it('echoes a well-formed X-Request-Id in answers and errors', async () => {
      const res = await http('GET', `${gw}/api/gifts/nope`, { token, headers: { 'x-request-id': 'trace-123' } });
      expect(res.headers.get('x-request-id')).toBe('trace-123');
      expect(res.body.error.requestId).toBe('trace-123');
    });

    it('never answered a 5xx during these tests', () => {
      const gateway = suite.gateways[0];
      expect(gateway.logs.filter((l) => /"status":5\d\d|INTERNAL/.test(l))).toEqual([]);
    });
  });

  describe('configuration at start-up', () => {
    const cases: Array<[AppName, Record<string, string>, string]> = [
      ['gateway', { PORT: 'abc', JWT_SECRET: 'jwt-'.repeat(8), ADMIN_TOKEN: 'adm-'.repeat(6) }, 'PORT'],
      ['gateway', { JWT_SECRET: 'short', ADMIN_TOKEN: 'adm-'.repeat(6) }, 'JWT_SECRET'],
      ['gateway', { JWT_SECRET: 'jwt-'.repeat(8), ADMIN_TOKEN: 'adm-'.repeat(6), QUERY_UPSTREAMS: 'nohost' }, 'QUERY_UPSTREAMS'],
      ['query', { TCP_PORT: '70000' }, 'TCP_PORT'],
      ['delivery', { REDIS_URL: 'http://nope' }, 'REDIS_URL'],
      ['delivery', { UNCERTAIN_LIMIT: '0' }, 'UNCERTAIN_LIMIT'],
    ];
    it.each(cases)('%s exits 1 naming a bad value (%j)', async (app, env, name) => {
      const child = startApp(app, env);
      const code = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000).unref())]);
      if (code !== 1) await child.stop(0);
      expect(code).toBe(1);
      const output = child.logs.join('\n');
      expect(output).toContain(name);
      expect(child.logs.filter((l) => l.includes(name))).toHaveLength(1);
      // Secrets are named, never echoed.
      expect(output).not.toContain('short');
      if (code !== 1) console.log(tail(child));
    });
  });
});
