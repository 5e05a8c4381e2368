import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { firstValueFrom, timeout } from 'rxjs';
import { Patterns, RedisKeys } from '@app/contracts';
import { signServiceMessage } from '@app/platform';
import { expectError, http } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { spawnApp, startApp, TEST_SERVICE_TOKEN, type RunningApp } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(60_000);

// The gateway-to-service hop is authenticated: only a holder of SERVICE_TOKEN gets anything done.
describe('service authentication on the TCP hop', () => {
  let suite: Suite;
  let strangerGateway: RunningApp;
  let strangerUrl: string;
  let client: ClientProxy;
  const keys = () => new RedisKeys(suite.prefix);

  beforeAll(async () => {
    suite = await startSuite();
    const port = await freePort();
    strangerUrl = `http://127.0.0.1:${port}`;
    strangerGateway = await spawnApp('gateway', {
      REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, PORT: String(port),
      QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      JWT_SECRET: suite.jwtSecret, ADMIN_TOKEN: suite.adminToken, SERVICE_TOKEN: randomBytes(32).toString('hex'),
    }, { label: 'gateway-wrong-token' });
    const body = demoActivity(suite.providerUrl, [{ giftId: 'sa-g1', perUserLimit: 5 }]);
    expect((await http('PUT', `${suite.gatewayUrls[0]}/admin/activities/a-sa`, { token: suite.adminToken, body })).status).toBe(201);
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: suite.deliveryTcpPorts[0] } });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await strangerGateway?.stop();
    await suite?.stop();
  });

  const orderExists = async (orderId: string) => {
    const redis = new Redis(suite.redisUrl);
    try {
      return (await redis.exists(keys().orderBinding(orderId), keys().orderState('sa-g1', orderId))) > 0;
    } finally {
      redis.disconnect();
    }
  };

  it('a gateway with a wrong SERVICE_TOKEN gets nothing done: its claim is not accepted and no order exists', async () => {
    const token = await suite.token('sa-user');
    const res = await http('POST', `${strangerUrl}/api/gifts/sa-g1/claims`, { token, headers: { 'idempotency-key': 'sa-stranger-1' }, body: {} });
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    const publish = await http('PUT', `${strangerUrl}/admin/activities/a-sa-2`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: 'sa-g2' }]) });
    expect(publish.status).toBe(503);
    expect(await orderExists('sa-stranger-1')).toBe(false);
    expect((await http('GET', `${suite.gatewayUrls[0]}/api/activities/a-sa-2`, { token })).status).toBe(404);
    // The same claim through a gateway with the right token works.
    const ok = await http('POST', `${suite.gatewayUrls[0]}/api/gifts/sa-g1/claims`, { token, headers: { 'idempotency-key': 'sa-right-1' }, body: {} });
    expect(ok.status).toBe(200);
  });

  it('refuses a TCP frame without the proof, or with a forged one, and changes nothing', async () => {
    const request = { meta: { requestId: 'raw' }, giftId: 'sa-g1', userId: 'sa-victim', orderId: 'sa-raw-1' };
    const send = (message: object) => firstValueFrom(client.send(Patterns.ClaimGift, message).pipe(timeout(5_000)));
    expect(await send(request)).toMatchObject({ ok: false, error: { code: 'AUTH_SERVICE_PROOF' } });
    expect(await send(signServiceMessage('f'.repeat(64), Patterns.ClaimGift, request))).toMatchObject({ ok: false, error: { code: 'AUTH_SERVICE_PROOF' } });
    const resolve = { meta: { requestId: 'raw' }, orderId: 'sa-right-1', delivered: false, reason: 'forged' };
    expect(await firstValueFrom(client.send(Patterns.ResolveOrder, resolve).pipe(timeout(5_000)))).toMatchObject({ ok: false, error: { code: 'AUTH_SERVICE_PROOF' } });
    expect(await orderExists('sa-raw-1')).toBe(false);
    // With the shared token the very same message is served.
    expect(await send(signServiceMessage(TEST_SERVICE_TOKEN, Patterns.ClaimGift, request))).toMatchObject({ ok: true, value: { orderId: 'sa-raw-1', status: 'delivered' } });
  });

  it('closes a connection that sends a frame over the size limit, and keeps serving', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(suite.deliveryTcpPorts[0], '127.0.0.1', () => {
        const body = JSON.stringify({ pattern: Patterns.Ping, data: { pad: 'x'.repeat(2 * 1024 * 1024) }, id: '1' });
        socket.write(`${body.length}#${body}`);
      });
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
      setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 10_000);
    });
    expect(closed).toBe(true);
    const ping = await firstValueFrom(client.send(Patterns.Ping, signServiceMessage(TEST_SERVICE_TOKEN, Patterns.Ping, { meta: { requestId: 'p' } })).pipe(timeout(5_000)));
    expect(ping).toMatchObject({ ok: true });
  });

  it('answers 401 to a user token without exp', async () => {
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('sa-user').setIssuedAt().sign(new TextEncoder().encode(suite.jwtSecret));
    expectError(await http('GET', `${suite.gatewayUrls[0]}/api/me/orders`, { token: noExp }), 401, 'UNAUTHORIZED');
  });
});

describe('a service started without SERVICE_TOKEN', () => {
  it.each(['delivery', 'query', 'gateway'] as const)('%s exits 1 with one line naming it', async (app) => {
    const started = startApp(app, { SERVICE_TOKEN: '', TCP_PORT: String(await freePort()), HTTP_PORT: String(await freePort()), PORT: String(await freePort()), JWT_SECRET: 'jwt-'.repeat(8), ADMIN_TOKEN: 'adm-'.repeat(6) });
    expect(await started.exited).toBe(1);
    await waitFor(() => started.logs.length > 0, { timeoutMs: 2_000, what: 'its output' });
    expect(started.logs).toHaveLength(1);
    expect(started.logs[0]).toContain('SERVICE_TOKEN is required');
  });
});

describe('TLS on the hop (SERVICE_TLS_*)', () => {
  let suite: Suite | undefined;
  afterAll(async () => suite?.stop());

  it('serves claims over TLS with a verified certificate, and a plain TCP client gets nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    suite = await startSuite({ env: { SERVICE_TLS_CERT: cert, SERVICE_TLS_KEY: key }, gatewayEnv: { SERVICE_TLS_CA: cert } });
    const gw = suite.gatewayUrls[0];
    const body = demoActivity(suite.providerUrl, [{ giftId: 'tls-g1' }]);
    expect((await http('PUT', `${gw}/admin/activities/a-tls`, { token: suite.adminToken, body })).status).toBe(201);
    const token = await suite.token('tls-user');
    expect((await http('POST', `${gw}/api/gifts/tls-g1/claims`, { token, headers: { 'idempotency-key': 'tls-1' }, body: {} })).status).toBe(200);
    const plain = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: suite.deliveryTcpPorts[0] } });
    try {
      const message = signServiceMessage(TEST_SERVICE_TOKEN, Patterns.Ping, { meta: { requestId: 'plain' } });
      await expect(firstValueFrom(plain.send(Patterns.Ping, message).pipe(timeout(3_000)))).rejects.toBeDefined();
    } finally {
      await plain.close();
    }
  });
});
