import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderClient } from './provider.client.js';

// ProviderClient against a real HTTP server on 127.0.0.1: every answer and transport failure is
// classified into one ProviderOutcome (contract section 5). This is also the check that an undici
// upgrade keeps the error codes and timeouts the classification relies on.

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;
const BODY = { orderId: 'o-1', userId: 'u-1', giftId: 'g-1', quantity: 1 };
const OPTIONS = { timeoutMs: 300, connectTimeoutMs: 300, totalDeadlineMs: 3_000, maxBodyBytes: 64 };

describe('ProviderClient', () => {
  let server: Server;
  let url: string;
  let behaviour: Behaviour;
  let requests: number;
  let client: ProviderClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => behaviour(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests = 0;
    client = new ProviderClient(OPTIONS);
  });
  afterEach(async () => {
    await client.close();
    server.closeAllConnections();
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const answer = (status: number, body = '{}'): Behaviour => (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);

  it('2xx is delivered, with the provider reference', async () => {
    behaviour = answer(200, JSON.stringify({ providerRef: 'ref-7' }));
    expect(await client.deliver(url, BODY)).toEqual({ kind: 'delivered', providerRef: 'ref-7' });
  });

  it('2xx with a body over the cap is still delivered (the reference is lost, not the delivery)', async () => {
    behaviour = answer(201, JSON.stringify({ providerRef: 'x'.repeat(200) }));
    expect(await client.deliver(url, BODY)).toEqual({ kind: 'delivered', providerRef: undefined });
  });

  it('4xx is a refusal and 5xx a failure', async () => {
    behaviour = answer(422);
    expect(await client.deliver(url, BODY)).toMatchObject({ kind: 'refused', reason: 'provider answered 422' });
    behaviour = answer(503);
    expect(await client.deliver(url, BODY)).toMatchObject({ kind: 'failed', reason: 'provider answered 503' });
  });

  it('a refused connection is not-sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await client.deliver(`http://127.0.0.1:${port}`, BODY)).toMatchObject({ kind: 'not-sent', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('no answer within timeoutMs is unknown (the request went out)', async () => {
    behaviour = () => undefined; // never answers
    const started = Date.now();
    expect(await client.deliver(url, BODY)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('UND_ERR_HEADERS_TIMEOUT') });
    expect(Date.now() - started).toBeLessThan(OPTIONS.totalDeadlineMs);
    expect(requests).toBe(1);
  });

  it('a connection reset after the request is unknown', async () => {
    behaviour = (req) => req.socket.destroy();
    expect(await client.deliver(url, BODY)).toMatchObject({ kind: 'unknown' });
    expect(requests).toBe(1);
  });

  it('beforeSend refusing means nothing is sent', async () => {
    behaviour = answer(200);
    expect(await client.deliver(url, BODY, async () => false)).toMatchObject({ kind: 'not-sent' });
    expect(requests).toBe(0);
  });

  it('lookup: 200 delivered, 404 absent, anything else or no answer unknown', async () => {
    behaviour = answer(200);
    expect(await client.lookup(url, 'o-1')).toBe('delivered');
    behaviour = answer(404);
    expect(await client.lookup(url, 'o-1')).toBe('absent');
    behaviour = answer(500);
    expect(await client.lookup(url, 'o-1')).toBe('unknown');
    behaviour = () => undefined;
    expect(await client.lookup(url, 'o-1')).toBe('unknown');
  });

  it('after close, a call is not-sent', async () => {
    await client.close();
    expect(await client.deliver(url, BODY)).toMatchObject({ kind: 'not-sent', reason: 'provider client is closing' });
  });
});
