import { request } from 'node:http';
import { startProviderStub, type ProviderStub, type ProviderStubOptions } from './provider-stub.js';

type Answer = { status: number; body: any };

/** One request on its own connection (no pooling, so a reset or hang never leaks into the next test). */
function call(port: number, method: string, path: string, body?: unknown, opts: { timeoutMs?: number; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 2_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

const delivery = (orderId: string) => ({ orderId, userId: 'u1', giftId: 'g1', quantity: 1 });

describe('provider stub', () => {
  let stub: ProviderStub;
  const start = async (options: ProviderStubOptions = {}) => {
    stub = await startProviderStub({ port: 0, ...options });
    return stub.port;
  };
  const post = (orderId: string, timeoutMs?: number) => call(stub.port, 'POST', '/deliveries', delivery(orderId), { timeoutMs });
  const stats = async () => (await call(stub.port, 'GET', '/_stats')).body;
  const setFaults = async (faults: Record<string, unknown>) => {
    expect((await call(stub.port, 'PUT', '/_faults', faults)).status).toBe(200);
  };

  afterEach(async () => {
    await stub.close(); // must return even with hung sockets open
  });

  it('refuses the listed gifts only, and with a release only the calls of that release', async () => {
    const port = await start();
    await setFaults({ refuse: { giftIds: ['g2'], release: 'canary-1' } });
    const send = (giftId: string, release?: string) =>
      call(port, 'POST', '/deliveries', { orderId: `o-${giftId}-${release}`, userId: 'u1', giftId, quantity: 1 }, { headers: release ? { 'x-rampart-release': release } : {} });
    expect((await send('g2', 'canary-1')).status).toBe(422);
    expect((await send('g1', 'canary-1')).status).toBe(200);
    expect((await send('g2', 'stable')).status).toBe(200);
    expect((await send('g2')).status).toBe(200);
    await setFaults({ refuse: { giftIds: ['g1'] } });
    expect((await send('g1', 'stable')).status).toBe(422);
    expect((await call(port, 'PUT', '/_faults', { refuse: { giftIds: 'g1' } })).status).toBe(400);
  });

  it('delivers and answers lookups', async () => {
    const port = await start();
    const first = await post('o1');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'delivered', providerRef: expect.stringMatching(/^stub-/) });
    expect(await call(port, 'GET', '/deliveries/o1')).toEqual({ status: 200, body: first.body });
    expect((await call(port, 'GET', '/deliveries/nope')).status).toBe(404);
  });

  it('treats a repeated orderId as the same delivery with order numbers', async () => {
    await start();
    const a = await post('o1');
    const b = await post('o1');
    expect(b.body.providerRef).toBe(a.body.providerRef);
    expect(await stats()).toEqual({ calls: 2, effectiveDeliveries: 1, byOrder: { o1: { calls: 2, deliveries: 1 } }, byOrderTruncated: false, failuresByOrder: {} });
  });

  it('delivers twice without order numbers', async () => {
    await start({ orderNumbers: false });
    const a = await post('o1');
    const b = await post('o1');
    expect(b.body.providerRef).not.toBe(a.body.providerRef);
    expect(await stats()).toMatchObject({ calls: 2, effectiveDeliveries: 2, byOrder: { o1: { calls: 2, deliveries: 2 } } });
  });

  it('refuses malformed requests', async () => {
    const port = await start({ maxBodyBytes: 1024 });
    expect((await call(port, 'POST', '/deliveries', undefined, { raw: '{not json' })).status).toBe(400);
    expect((await call(port, 'POST', '/deliveries', { orderId: 'o1', userId: 'u1', giftId: 'g1' })).status).toBe(400);
    expect((await call(port, 'POST', '/deliveries', { ...delivery('o1'), quantity: 0 })).status).toBe(400);
    expect((await call(port, 'POST', '/deliveries', { ...delivery('o1'), pad: 'x'.repeat(2048) })).status).toBe(413);
    expect((await call(port, 'GET', '/deliveries')).status).toBe(405);
    expect((await call(port, 'GET', '/elsewhere')).status).toBe(404);
    expect(await stats()).toMatchObject({ calls: 0, effectiveDeliveries: 0 });
  });

  it('hang: never answers and delivers nothing', async () => {
    await start();
    await setFaults({ mode: 'hang' });
    await expect(post('o1', 150)).rejects.toThrow('client timeout');
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 0 });
  });

  it('reset: drops the connection before delivering', async () => {
    await start({ faults: { mode: 'reset', latencyMs: 0, errorRate: 0, rejectRate: 0 } });
    await expect(post('o1')).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 0 });
  });

  it('answer-after-delay: records the delivery before the late answer', async () => {
    const port = await start();
    await setFaults({ mode: 'answer-after-delay', latencyMs: 400 });
    const answer = post('o1');
    await expect(post('o2', 100)).rejects.toThrow('client timeout');
    expect(await stats()).toMatchObject({ effectiveDeliveries: 2, byOrder: { o2: { calls: 1, deliveries: 1 } } });
    const late = await answer;
    expect(late.status).toBe(200);
    await setFaults({});
    expect((await call(port, 'GET', '/deliveries/o2')).status).toBe(200);
  });

  it('hang-first: the first call of each order hangs undelivered, the next one delivers', async () => {
    await start();
    await setFaults({ mode: 'hang-first' });
    await expect(post('o1', 150)).rejects.toThrow('client timeout');
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 0 });
    expect((await post('o1')).status).toBe(200);
    await expect(post('o2', 150)).rejects.toThrow('client timeout');
    expect(await stats()).toMatchObject({ calls: 3, effectiveDeliveries: 1 });
  });

  it('trickle: delivers, sends the headers at once and the body a byte every latencyMs', async () => {
    const port = await start();
    await setFaults({ mode: 'trickle', latencyMs: 20 });
    const started = Date.now();
    let headersAfterMs = -1;
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/deliveries', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        headersAfterMs = Date.now() - started;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(delivery('o1')));
    });
    const totalMs = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ status: 'delivered', providerRef: expect.stringMatching(/^stub-/) });
    expect(headersAfterMs).toBeLessThan(200);
    expect(totalMs).toBeGreaterThanOrEqual((answer.text.length - 1) * 20 - 20);
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 1 });
    // A client with a total deadline gives up long before the body is complete (an idle timeout
    // would not: a byte comes every 20 ms); the delivery stands.
    const deadline = fetch(`http://127.0.0.1:${port}/deliveries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(delivery('o2')),
      signal: AbortSignal.timeout(300),
    }).then((res) => res.text());
    await expect(deadline).rejects.toThrow();
    expect(await stats()).toMatchObject({ calls: 2, effectiveDeliveries: 2, byOrder: { o2: { calls: 1, deliveries: 1 } } });
    expect((await call(port, 'GET', '/deliveries/o2')).status).toBe(200); // lookups are not trickled
  });

  it('reject: a permanent 422 refusal', async () => {
    await start();
    await setFaults({ mode: 'reject' });
    expect(await post('o1')).toEqual({ status: 422, body: { error: 'refused' } });
    await setFaults({ rejectRate: 1 });
    expect((await post('o1')).status).toBe(422);
    expect(await stats()).toMatchObject({ calls: 2, effectiveDeliveries: 0 });
  });

  it('errorRate 1: always 503, nothing delivered', async () => {
    const port = await start({ faults: { mode: 'none', latencyMs: 0, errorRate: 1, rejectRate: 0 } });
    expect((await post('o1')).status).toBe(503);
    expect((await call(port, 'GET', '/deliveries/o1')).status).toBe(503);
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 0, failuresByOrder: { o1: 1 } });
  });

  it('latencyMs delays the answer', async () => {
    await start();
    await setFaults({ latencyMs: 120 });
    const started = Date.now();
    expect((await post('o1')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('sets, shows and resets faults, refusing bad settings', async () => {
    const port = await start();
    await setFaults({ mode: 'reject', errorRate: 0.5 });
    expect((await call(port, 'GET', '/_faults')).body).toEqual({ mode: 'reject', errorRate: 0.5, latencyMs: 0, rejectRate: 0 });
    for (const bad of [{ mode: 'sideways' }, { errorRate: 2 }, { latencyMs: -1 }, { extra: true }, [1]]) {
      expect((await call(port, 'PUT', '/_faults', bad)).status).toBe(400);
    }
    expect((await call(port, 'DELETE', '/_faults')).body).toMatchObject({ mode: 'none', errorRate: 0 });
    expect((await post('o1')).status).toBe(200);
  });

  it('resets stats but keeps deduplicating, and bounds the per-order detail', async () => {
    await start({ maxTrackedOrders: 2 });
    await post('o1');
    expect((await call(stub.port, 'DELETE', '/_stats')).body).toMatchObject({ calls: 0, effectiveDeliveries: 0, byOrder: {} });
    await post('o1');
    expect(await stats()).toMatchObject({ calls: 1, effectiveDeliveries: 0 });
    await post('o2');
    await post('o3');
    const s = await stats();
    expect(s).toMatchObject({ calls: 3, effectiveDeliveries: 2, byOrderTruncated: true });
    expect(Object.keys(s.byOrder)).toEqual(['o1', 'o2']);
  });
});
