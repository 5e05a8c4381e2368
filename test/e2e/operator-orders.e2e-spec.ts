import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { expectError, http } from '../support/http.js';
import { setFaults, waitForOrderStatus } from '../support/orders.js';
import type { RunningApp } from '../support/spawn-app.js';
import { demoActivity, startProviderWithoutOrderNumbers, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(90_000);

// Operators' order work through the public API on real processes (contract section 3): the order
// listing and work list, an order's history, resolve races, dead letters refused vs exhausted and
// their discard, publish dry runs, an activity's consumption, and actor and reason in the audit log.
describe('operator order work', () => {
  let suite: Suite;
  let gw: string;
  let plain: RunningApp;
  let plainUrl: string;
  let redis: Redis;
  let keys: RedisKeys;

  beforeAll(async () => {
    suite = await startSuite({
      gateways: 2,
      deliveryEnv: {
        PROVIDER_TIMEOUT_MS: '500',
        QUEUE_ATTEMPTS: '2',
        QUEUE_BACKOFF_BASE_MS: '100',
        QUEUE_BACKOFF_MAX_MS: '200',
        SWEEP_INTERVAL_MS: '500',
        UNCERTAIN_LIMIT: '5',
      },
    });
    gw = suite.gatewayUrls[0];
    ({ app: plain, url: plainUrl } = await startProviderWithoutOrderNumbers());
    redis = new Redis(suite.redisUrl, { lazyConnect: true });
    keys = new RedisKeys(suite.prefix);
  });
  afterAll(async () => {
    redis?.disconnect();
    await plain?.stop();
    await suite?.stop();
  });
  afterEach(async () => {
    await setFaults(suite.providerUrl, {});
    await setFaults(plainUrl, {});
  });

  const admin = (method: string, path: string, opts: { body?: unknown; actor?: string; gateway?: string } = {}) =>
    http(method, `${opts.gateway ?? gw}${path}`, { token: suite.adminToken, body: opts.body, headers: opts.actor ? { 'x-actor': opts.actor } : {} });
  const publish = async (activityId: string, gifts: Array<Record<string, unknown>>, providerUrl = suite.providerUrl) => {
    const res = await admin('PUT', `/admin/activities/${activityId}`, { body: demoActivity(providerUrl, gifts) });
    expect(res.status).toBeLessThan(300);
  };
  const claim = (giftId: string, token: string, key: string = randomUUID()) =>
    http('POST', `${gw}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': key }, body: {} });
  /** Every order of a listing, following `nextCursor` until it is absent. */
  const listAll = async (query: string, limit: number) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const params = [query, `limit=${limit}`, cursor ? `cursor=${cursor}` : ''].filter(Boolean).join('&');
      const res = await admin('GET', `/admin/orders?${params}`);
      expect(res.status).toBe(200);
      expect(res.body.orders.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.orders.map((o: { orderId: string }) => o.orderId));
      cursor = res.body.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error('the listing did not end');
  };

  it('lists uncertain orders as the work list, pages them by cursor, and reads one with its history', async () => {
    await publish('a-unc', [{ giftId: 'unc-g1', perUserLimit: 5, provider: { url: plainUrl, orderNumbers: false } }], plainUrl);
    await publish('a-ok', [{ giftId: 'ok-g1', perUserLimit: 5 }]);
    const token = await suite.token('op-user');
    await setFaults(plainUrl, { mode: 'hang' });
    for (const id of ['unc-1', 'unc-2', 'unc-3']) expect((await claim('unc-g1', token, id)).body).toEqual({ orderId: id, status: 'uncertain' });
    expect((await claim('ok-g1', token, 'ok-1')).body).toEqual({ orderId: 'ok-1', status: 'delivered' });

    // The work list: uncertain orders only, newest first.
    const work = await admin('GET', '/admin/orders?status=uncertain');
    expect(work.status).toBe(200);
    expect(work.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(['unc-3', 'unc-2', 'unc-1']);
    expect(work.body.orders[0]).toMatchObject({ orderId: 'unc-3', userId: 'op-user', giftId: 'unc-g1', activityId: 'a-unc', status: 'uncertain' });
    expect(work.body.nextCursor).toBeUndefined();
    // Page by page, by gift, by user: each order once, no page larger than asked.
    expect(await listAll('status=uncertain', 1)).toEqual(['unc-3', 'unc-2', 'unc-1']);
    expect((await listAll('giftId=ok-g1', 1))).toEqual(['ok-1']);
    expect((await listAll('userId=op-user', 2)).sort()).toEqual(['ok-1', 'unc-1', 'unc-2', 'unc-3']);
    expect(await listAll('userId=op-user&status=delivered', 2)).toEqual(['ok-1']);
    const everything = await listAll('', 2);
    expect(everything.sort()).toEqual(['ok-1', 'unc-1', 'unc-2', 'unc-3']);
    // An order created after a page was read does not shift the next page (the cursor is a position).
    const first = await admin('GET', '/admin/orders?status=uncertain&limit=1');
    await setFaults(plainUrl, { mode: 'hang' });
    expect((await claim('unc-g1', token, 'unc-4')).body.status).toBe('uncertain');
    const second = await admin('GET', `/admin/orders?status=uncertain&limit=5&cursor=${first.body.nextCursor}`);
    expect(second.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(['unc-2', 'unc-1']);

    // One order, with its history: created by the claim's attempt, made uncertain when the call hung.
    const read = await admin('GET', '/admin/orders/unc-1');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ orderId: 'unc-1', userId: 'op-user', giftId: 'unc-g1', status: 'uncertain', attempts: 1 });
    expect(read.body.history.map((h: { status: string }) => h.status)).toEqual(['delivering', 'uncertain']);
    expect(read.body.history[0]).toMatchObject({ actor: 'claim', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(read.body.history[1].reason).toBeTruthy();
    expectError(await admin('GET', '/admin/orders/no-such-order'), 404, 'NOT_FOUND');

    // Bad input is a 400 in the contract's shape; no token is a 401.
    for (const query of ['limit=0', 'limit=101', 'limit=x', 'status=lost', 'cursor=garbage!', 'cursor=eyJtIjoiZyJ9', 'giftId=a%20b', 'colour=red']) {
      expectError(await admin('GET', `/admin/orders?${query}`), 400, 'BAD_REQUEST');
    }
    const userCursor = (await admin('GET', '/admin/orders?userId=op-user&limit=1')).body.nextCursor;
    expectError(await admin('GET', `/admin/orders?cursor=${userCursor}`), 400, 'BAD_REQUEST');
    expectError(await http('GET', `${gw}/admin/orders`), 401, 'UNAUTHORIZED');
    expectError(await http('GET', `${gw}/admin/orders/unc-1`, { token }), 401, 'UNAUTHORIZED');
  });

  it('lets exactly one of concurrent resolves win (one 200, the others 409) and keeps the uncertain count exact', async () => {
    const userCounts = keys.giftUser('unc-g1', 'op-user');
    const before = Number(await redis.hget(userCounts, 'uncertain'));
    expect(before).toBe(4);
    const resolve = (gateway: string, delivered: boolean) =>
      admin('POST', '/admin/orders/unc-2/resolve', { gateway, actor: 'op.alice', body: { delivered, reason: 'checked with the provider' } });
    const answers = await Promise.all([
      resolve(suite.gatewayUrls[0], false), resolve(suite.gatewayUrls[1], true), resolve(suite.gatewayUrls[0], true), resolve(suite.gatewayUrls[1], false),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409]);
    for (const loser of answers.filter((a) => a.status === 409)) expectError(loser, 409, 'CONFLICT');
    const winner = answers.find((a) => a.status === 200)!.body.status;
    expect(['delivered', 'failed']).toContain(winner);
    expect(Number(await redis.hget(userCounts, 'uncertain'))).toBe(before - 1);
    expect(await redis.zscore(keys.giftUncertainOrders('unc-g1'), 'unc-2')).toBeNull();
    expect(await listAll('status=uncertain', 10)).toEqual(['unc-4', 'unc-3', 'unc-1']);
    const read = await admin('GET', '/admin/orders/unc-2');
    expect(read.body).toMatchObject({ status: winner, resolvedBy: 'admin:op.alice' });
    expect(read.body.history.at(-1)).toMatchObject({ status: winner, actor: 'operator', reason: expect.stringContaining('checked with the provider') });
    const audit = await admin('GET', '/admin/audit?limit=20');
    const entries = audit.body.entries.filter((e: { target: string }) => e.target === 'unc-2');
    expect(entries).toEqual([expect.objectContaining({ actor: 'admin:op.alice', reason: 'checked with the provider', action: `order.resolve.${winner}` })]);
  });

  it('lists a provider-refused dead letter as refused and one out of tries as exhausted; discard removes it, the order stays failed', async () => {
    await publish('a-dead', [{ giftId: 'dead-g1', inventory: 5, delivery: 'async' }]);
    const token = await suite.token('dead-user');
    await setFaults(suite.providerUrl, { mode: 'reject' });
    expect((await claim('dead-g1', token, 'refused-1')).status).toBe(202);
    await waitForOrderStatus(gw, token, 'refused-1', ['failed']);
    await setFaults(suite.providerUrl, { errorRate: 1 });
    expect((await claim('dead-g1', await suite.token('dead-user-2'), 'exhausted-1')).status).toBe(202);
    await waitForOrderStatus(gw, await suite.token('dead-user-2'), 'exhausted-1', ['failed']);
    const deadLetters = await waitFor(async () => {
      const res = await admin('GET', '/admin/queues/failed');
      return res.body.failed.length >= 2 ? res.body.failed as Array<Record<string, unknown>> : undefined;
    }, { timeoutMs: 10_000, what: 'both dead letters' });
    expect(deadLetters).toEqual(expect.arrayContaining([
      expect.objectContaining({ orderId: 'refused-1', reason: 'refused', error: expect.any(String) }),
      expect.objectContaining({ orderId: 'exhausted-1', reason: 'exhausted', attempts: 2 }),
    ]));

    expectError(await admin('POST', '/admin/queues/failed/refused-1/discard', { body: {} }), 400, 'BAD_REQUEST');
    expectError(await admin('POST', '/admin/queues/failed/refused-1/discard', { body: { reason: 'ok' }, actor: 'bad actor' }), 400, 'BAD_REQUEST');
    const discarded = await admin('POST', '/admin/queues/failed/refused-1/discard', { body: { reason: 'provider refuses this user for good' }, actor: 'op.carol' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toEqual({ orderId: 'refused-1', status: 'failed', discarded: true });
    const after = await admin('GET', '/admin/queues/failed');
    expect(after.body.failed.map((d: { orderId: string }) => d.orderId)).toEqual(['exhausted-1']);
    expect((await admin('GET', '/admin/orders/refused-1')).body).toMatchObject({ status: 'failed', failure: 'refused' });
    // Not (or no longer) dead-lettered: 404.
    expectError(await admin('POST', '/admin/queues/failed/refused-1/discard', { body: { reason: 'again' } }), 404, 'NOT_FOUND');
    expectError(await admin('POST', '/admin/queues/failed/no-such-order/discard', { body: { reason: 'x' } }), 404, 'NOT_FOUND');
    const audit = await admin('GET', '/admin/audit?limit=20');
    expect(audit.body.entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'queue.discard', target: 'refused-1', actor: 'admin:op.carol', reason: 'provider refuses this user for good' }),
    ]));
  });

  it('answers a publish dry run with a diff and stores nothing; GET shows the stored configuration and consumption', async () => {
    await publish('a-plan', [{ giftId: 'plan-g1', inventory: 10, dailyLimit: 5 }, { giftId: 'plan-g2', inventory: 3 }]);
    const token = await suite.token('plan-user');
    expect((await claim('plan-g1', token, 'plan-order-1')).body.status).toBe('delivered');
    const auditBefore = (await admin('GET', '/admin/audit?limit=1000')).body.entries.length;

    const stored = await admin('GET', '/admin/activities/a-plan');
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ activityId: 'a-plan', name: 'Spring festival' });
    expect(stored.body.gifts).toEqual([
      expect.objectContaining({ giftId: 'plan-g1', inventory: 10, dailyLimit: 5, perUserLimit: 1, delivery: 'sync', provider: { url: suite.providerUrl, orderNumbers: true }, consumed: { reserved: 1, delivered: 1, remaining: 9, reservedToday: 1 } }),
      expect.objectContaining({ giftId: 'plan-g2', inventory: 3, consumed: { reserved: 0, delivered: 0, remaining: 3, reservedToday: 0 } }),
    ]);

    const next = { ...demoActivity(suite.providerUrl, [{ giftId: 'plan-g1', inventory: 20, dailyLimit: 5 }, { giftId: 'plan-g3', delivery: 'async' }]), name: 'Summer festival' };
    const plan = await admin('PUT', '/admin/activities/a-plan?dryRun=true', { body: { ...next, reason: 'preview' }, actor: 'op.dave' });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ activityId: 'a-plan', dryRun: true });
    expect(plan.body.changes.created).toBe(false);
    expect(plan.body.changes.activity.name).toEqual({ before: 'Spring festival', after: 'Summer festival' });
    expect(plan.body.changes.gifts.changed).toEqual([{ giftId: 'plan-g1', fields: { inventory: { before: 10, after: 20 } } }]);
    expect(plan.body.changes.gifts.added.map((g: { giftId: string }) => g.giftId)).toEqual(['plan-g3']);
    expect(plan.body.changes.gifts.removed.map((g: { giftId: string }) => g.giftId)).toEqual(['plan-g2']);
    // Nothing was stored or audited.
    expect((await admin('GET', '/admin/activities/a-plan')).body).toEqual(stored.body);
    expectError(await http('GET', `${gw}/api/gifts/plan-g3`, { token }), 404, 'NOT_FOUND');
    expect((await admin('GET', '/admin/audit?limit=1000')).body.entries.length).toBe(auditBefore);
    // The dry run checks storage as a publish does: inventory below what is reserved is a 422.
    const below = await admin('PUT', '/admin/activities/a-plan?dryRun=true', { body: demoActivity(suite.providerUrl, [{ giftId: 'plan-g1', inventory: 0 }]) });
    expect(expectError(below, 422, 'INVALID_CONFIG').details).toEqual([expect.objectContaining({ path: 'gifts[0].inventory' })]);
    const fresh = await admin('PUT', '/admin/activities/a-new?dryRun=true', { body: demoActivity(suite.providerUrl, [{ giftId: 'new-g1' }]) });
    expect(fresh.body.changes).toMatchObject({ created: true, gifts: { added: [expect.objectContaining({ giftId: 'new-g1' })] } });
    expectError(await admin('GET', '/admin/activities/a-new'), 404, 'NOT_FOUND');
    expectError(await admin('PUT', '/admin/activities/a-plan?dryRun=yes', { body: next }), 400, 'BAD_REQUEST');
  });

  it('records actor and reason in the audit entry of every admin change, publishing included', async () => {
    const body = { ...demoActivity(suite.providerUrl, [{ giftId: 'plan-g1', inventory: 12, dailyLimit: 5 }]), reason: 'more stock for the weekend' };
    // A malformed X-Actor is refused before anything is stored.
    expectError(await admin('PUT', '/admin/activities/a-plan', { body, actor: 'Bob Smith' }), 400, 'BAD_REQUEST');
    expect((await admin('GET', '/admin/activities/a-plan')).body.gifts[0].inventory).toBe(10);
    expectError(await admin('PUT', '/admin/activities/a-plan', { body: { ...body, reason: '' } }), 400, 'BAD_REQUEST');
    expect((await admin('PUT', '/admin/activities/a-plan', { body, actor: 'op.erin' })).status).toBe(200);
    expect((await admin('GET', '/admin/activities/a-plan')).body.gifts[0].inventory).toBe(12);
    expect((await admin('PUT', '/admin/flags/gift.plan-g1.paused', { body: { enabled: true, reason: 'provider maintenance' }, actor: 'op.erin' })).status).toBe(200);
    expectError(await admin('PUT', '/admin/flags/gift.plan-g1.paused', { body: { enabled: false, reason: 'x' }, actor: 'x'.repeat(65) }), 400, 'BAD_REQUEST');
    await admin('PUT', '/admin/flags/gift.plan-g1.paused', { body: { enabled: false, reason: 'maintenance over' }, actor: 'op.erin' });

    const entries = (await admin('GET', '/admin/audit?limit=1000')).body.entries as Array<Record<string, string>>;
    expect(entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'activity.update', target: 'a-plan', actor: 'admin:op.erin', reason: 'more stock for the weekend' }),
      expect.objectContaining({ action: 'flag.enable', target: 'gift.plan-g1.paused', actor: 'admin:op.erin', reason: 'provider maintenance' }),
      expect.objectContaining({ action: 'flag.disable', target: 'gift.plan-g1.paused', actor: 'admin:op.erin', reason: 'maintenance over' }),
    ]));
    // Every entry names an actor; every change an operator made with a reason carries it.
    for (const entry of entries) expect(entry.actor).toMatch(/^admin(:[A-Za-z0-9_.@-]{1,64})?$/);
    for (const entry of entries.filter((e) => e.actor !== 'admin')) expect(entry.reason).not.toBe('');
  });
});
