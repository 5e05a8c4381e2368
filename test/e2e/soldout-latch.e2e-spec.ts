import { randomUUID } from 'node:crypto';
import { freePort } from '../support/ports.js';
import { expectError, http } from '../support/http.js';
import { spawnApp } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

// The sold-out latch through real processes: once a gift sells out, every gateway answers new
// claims of it 409 SOLD_OUT by itself (counted by its rampart_sold_out_latch_hits_total: the claim
// reached neither Redis nor delivery), while repeats and users with orders keep the normal path.
describe('sold-out latch (2 gateways, 1 query, 1 delivery, provider stub, real Redis)', () => {
  let suite: Suite;
  const gw = () => suite.gatewayUrls;
  const metric = async (base: string, name: string) => {
    const text = (await http('GET', `${base}/metrics`)).text;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  };
  const hits = (base: string) => metric(base, 'rampart_sold_out_latch_hits_total');
  const latched = (base: string) => metric(base, 'rampart_sold_out_latches');
  const claim = async (base: string, userId: string, key: string = randomUUID()) =>
    http('POST', `${base}/api/gifts/so-g1/claims`, { token: await suite.token(userId), headers: { 'idempotency-key': key }, body: {} });
  const publish = async (inventory: number) => {
    const res = await http('PUT', `${gw()[0]}/admin/activities/a-soldout`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: 'so-g1', inventory }]) });
    expect([200, 201]).toContain(res.status);
  };
  const waitLatched = (bases: string[], count: number) =>
    waitFor(async () => (await Promise.all(bases.map(latched))).every((n) => n === count), { timeoutMs: 10_000, what: `${count} latched gift(s) on ${bases.join(', ')}` });

  beforeAll(async () => {
    suite = await startSuite({ gateways: 2, queries: 1, deliveries: 1, gatewayEnv: { CLAIM_RATE_LIMIT_PER_S: '100' } });
  });
  afterAll(async () => suite?.stop());
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(suite.logs());
  });

  it('after the sell-out, new keys of new users get 409 SOLD_OUT from both gateways without reaching Redis', async () => {
    await publish(2);
    expect((await claim(gw()[0], 'alice', 'so-alice-1')).body).toEqual({ orderId: 'so-alice-1', status: 'delivered' });
    expect(await latched(gw()[0])).toBe(0);
    expect((await claim(gw()[1], 'bob', 'so-bob-1')).body).toEqual({ orderId: 'so-bob-1', status: 'delivered' });
    await waitLatched(gw(), 1);
    const before = await Promise.all(gw().map(hits));
    for (const [i, base] of gw().entries()) {
      for (let n = 0; n < 5; n++) expectError(await claim(base, `late-${i}-${n}`), 409, 'SOLD_OUT');
    }
    expect(await Promise.all(gw().map(hits))).toEqual(before.map((h) => h + 5));
  });

  it('a repeat of a delivered key still answers 200 with its order; a user who holds an order gets USER_LIMIT_REACHED', async () => {
    const before = await Promise.all(gw().map(hits));
    const repeat = await claim(gw()[1], 'alice', 'so-alice-1');
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual({ orderId: 'so-alice-1', status: 'delivered' });
    expect((await claim(gw()[0], 'bob', 'so-bob-1')).body).toEqual({ orderId: 'so-bob-1', status: 'delivered' });
    // The contract's refusal order: USER_LIMIT_REACHED before SOLD_OUT (perUserLimit is 1).
    expectError(await claim(gw()[0], 'alice'), 409, 'USER_LIMIT_REACHED');
    expect(await Promise.all(gw().map(hits))).toEqual(before);
  });

  it('a gateway started after the sell-out latches too', async () => {
    const port = await freePort();
    const late = await spawnApp('gateway', {
      REDIS_URL: suite.redisUrl,
      REDIS_PREFIX: suite.prefix,
      PORT: String(port),
      QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      JWT_SECRET: suite.jwtSecret,
      ADMIN_TOKEN: suite.adminToken,
    }, { label: 'gateway-late' });
    suite.gateways.push(late);
    const base = `http://127.0.0.1:${port}`;
    expect(await latched(base)).toBe(1); // loaded at start, before it said ready
    expectError(await claim(base, 'late-user'), 409, 'SOLD_OUT');
    expect(await hits(base)).toBe(1);
    await late.stop();
  });

  it('raising inventory re-arms the latch on every gateway: a new claim succeeds, and the next sell-out latches again', async () => {
    await publish(3);
    await waitLatched(gw(), 0);
    const res = await claim(gw()[1], 'carol', 'so-carol-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orderId: 'so-carol-1', status: 'delivered' });
    await waitLatched(gw(), 1);
    const before = await hits(gw()[0]);
    expectError(await claim(gw()[0], 'dave'), 409, 'SOLD_OUT');
    expect(await hits(gw()[0])).toBe(before + 1);
    // carol's order was created after the first latch: the new latch knows it.
    expect((await claim(gw()[0], 'carol', 'so-carol-1')).body).toEqual({ orderId: 'so-carol-1', status: 'delivered' });
  });
});
