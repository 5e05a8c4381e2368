import { AppError, ErrorCode, Flags, Patterns, serviceShedFlag } from '@app/contracts';
import { loadGatewayConfig } from '../config/gateway.config.js';
import type { CallOptions, Upstream } from '../upstream/upstream.client.js';
import { ResiliencePolicies, staleKey } from './resilience-policies.js';

// The policies of the static mode (class bulkheads, no client throttling); the adaptive mode's differences are at the end.
const base = { JWT_SECRET: 'jwt-'.repeat(8), ADMIN_TOKEN: 'adm-'.repeat(6), SERVICE_TOKEN: 'svc-'.repeat(8), ADMISSION_MODE: 'static' };

/** A fake service: `answer` decides each call; every call's options are kept; `address` is what it "picked". */
function fakeUpstream(answer: (n: number, options: CallOptions) => Promise<unknown>) {
  const calls: CallOptions[] = [];
  const upstream: Upstream = {
    call: async <T>(_pattern: string, _payload: object, options: CallOptions = {}): Promise<T> => {
      calls.push({ ...options, tried: options.tried && new Set(options.tried) });
      const address = `i${calls.length}`;
      options.tried?.add(address);
      return (await answer(calls.length, options)) as T;
    },
    anyInstanceAnswers: async () => 'ok',
    close: async () => undefined,
  };
  return { upstream, calls };
}

const unreachable = () => new AppError(ErrorCode.UpstreamUnreachable, 'query service is unreachable', { retryable: true });

function setup(env: Record<string, string> = {}, flags: Record<string, boolean> = {}) {
  const config = loadGatewayConfig({ ...base, ...env });
  const policies = new ResiliencePolicies(config, { isEnabled: (name) => flags[name] ?? false });
  return { policies, config, flags };
}

describe('ResiliencePolicies', () => {
  const disposers: Array<() => void> = [];
  afterEach(() => disposers.splice(0).forEach((d) => d()));
  const make = (env?: Record<string, string>, flags?: Record<string, boolean>) => {
    const s = setup(env, flags);
    disposers.push(() => s.policies.dispose());
    return s;
  };

  it('answers 503 with Retry-After at once while the service is shed, without calling it', async () => {
    const { policies } = make({}, { [serviceShedFlag('query')]: true });
    const fake = fakeUpstream(async () => ({ ok: 1 }));
    const query = policies.wrap('query', fake.upstream);
    await expect(query.call(Patterns.GetGift, { giftId: 'g1' })).rejects.toMatchObject({ code: ErrorCode.ServiceUnavailable, retryAfterS: 1 });
    expect(fake.calls).toHaveLength(0);
    // The other service is not shed.
    await expect(policies.wrap('delivery', fake.upstream).call(Patterns.QueueCounts, {})).resolves.toEqual({ ok: 1 });
  });

  it('gives each attempt its class timeout: fast for reads, slow for claims, a per-route override wins', async () => {
    const { policies } = make({ TIMEOUT_FAST_MS: '40', TIMEOUT_SLOW_MS: '400', ROUTE_POLICIES: 'order.get=slow:120' });
    const fake = fakeUpstream(() => new Promise(() => undefined));
    const query = policies.wrap('query', fake.upstream);
    const delivery = policies.wrap('delivery', fake.upstream);
    const started = performance.now();
    await expect(query.call(Patterns.GetGift, { giftId: 'g1' }, { route: 'solo' })).rejects.toMatchObject({ code: ErrorCode.UpstreamTimeout });
    expect(performance.now() - started).toBeLessThan(200); // two 40 ms attempts (one retry) and a backoff ≤ 250 ms cap
    expect(fake.calls[0].timeoutMs).toBe(40);
    fake.calls.length = 0;
    await expect(query.call(Patterns.GetOrder, { orderId: 'o1' })).rejects.toMatchObject({ code: ErrorCode.UpstreamTimeout });
    expect(fake.calls[0].timeoutMs).toBe(120);
    fake.calls.length = 0;
    const claim = delivery.call(Patterns.ClaimGift, { orderId: 'o1' });
    await expect(claim).rejects.toMatchObject({ code: ErrorCode.UpstreamTimeout });
    expect(fake.calls).toHaveLength(1); // a claim is never re-sent by the gateway
    expect(fake.calls[0]).toMatchObject({ timeoutMs: 400, retryOnOtherInstance: false });
  });

  it('a caller timeout caps the class timeout, and a caller class overrides the route\'s', async () => {
    const { policies } = make({ TIMEOUT_FAST_MS: '300', TIMEOUT_SLOW_MS: '3000' });
    const fake = fakeUpstream(async () => 'v');
    const query = policies.wrap('query', fake.upstream);
    await query.call(Patterns.GetGift, { giftId: 'g1' }, { timeoutMs: 100 });
    await query.call(Patterns.GetGift, { giftId: 'g1' }, { timeoutClass: 'slow' });
    expect(fake.calls.map((c) => c.timeoutMs)).toEqual([100, 3000]);
  });

  it('operators\' changes keep the slow timeout their controller asks for and are never re-sent; operators\' reads are retried but never stale', async () => {
    const { policies } = make({ TIMEOUT_FAST_MS: '300', TIMEOUT_SLOW_MS: '3000' }, { [Flags.QueryServeStale]: true });
    let isDown = false;
    const fake = fakeUpstream(async () => {
      if (isDown) throw unreachable();
      return 'v';
    });
    const delivery = policies.wrap('delivery', fake.upstream);
    const query = policies.wrap('query', fake.upstream);
    // An unknown pattern would be the fast class, cutting the controller's 3000 ms to 300.
    for (const pattern of [Patterns.PlanActivity, Patterns.DiscardFailed, Patterns.RetryFailed, Patterns.ResolveOrder]) await delivery.call(pattern, {}, { timeoutMs: 3000 });
    expect(fake.calls.map((c) => c.timeoutMs)).toEqual([3000, 3000, 3000, 3000]);
    const order = { meta: { requestId: 'r1' }, orderId: 'o1' };
    await expect(query.call(Patterns.AdminGetOrder, order)).resolves.toBe('v');
    isDown = true;
    fake.calls.length = 0;
    await expect(delivery.call(Patterns.DiscardFailed, { orderId: 'o1' }, { timeoutMs: 3000 })).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    expect(fake.calls).toHaveLength(1);
    fake.calls.length = 0;
    // The order read that succeeded is not answered again from the stale cache, even with query.serveStale on.
    await expect(query.call(Patterns.AdminGetOrder, order)).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    expect(fake.calls).toHaveLength(2);
  });

  it('retries a failed read once on another instance, never a claim', async () => {
    const { policies } = make();
    const fake = fakeUpstream(async (n) => {
      if (n === 1) throw unreachable();
      return 'second';
    });
    const query = policies.wrap('query', fake.upstream);
    await expect(query.call(Patterns.GetGift, { giftId: 'g1' })).resolves.toBe('second');
    expect(fake.calls).toHaveLength(2);
    expect([...(fake.calls[1].tried ?? [])]).toEqual(['i1']); // the retry excludes the first instance
    expect(policies.retries().query).toMatchObject({ requests: 1, retries: 1 });

    const failing = fakeUpstream(async () => {
      throw unreachable();
    });
    await expect(policies.wrap('delivery', failing.upstream).call(Patterns.ClaimGift, { orderId: 'o1' })).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    expect(failing.calls).toHaveLength(1);
  });

  it('does not retry business refusals', async () => {
    const { policies } = make();
    const fake = fakeUpstream(async () => {
      throw new AppError(ErrorCode.NotFound, 'gift g1 does not exist');
    });
    await expect(policies.wrap('query', fake.upstream).call(Patterns.GetGift, { giftId: 'g1' })).rejects.toMatchObject({ code: ErrorCode.NotFound });
    expect(fake.calls).toHaveLength(1);
  });

  it('gates retries when the service\'s success rate is below the threshold, and caps them by the budget', async () => {
    // Breaker out of the way (huge volume threshold) to watch the retry layer alone.
    const { policies } = make({ BREAKER_VOLUME_THRESHOLD: '100000', RETRY_BUDGET_RATIO: '0.1', RETRY_BUDGET_MIN_PER_S: '0.5' });
    const fake = fakeUpstream(async () => {
      throw unreachable();
    });
    const query = policies.wrap('query', fake.upstream);
    for (let i = 0; i < 40; i++) await query.call(Patterns.GetGift, { giftId: 'g1' }).catch(() => undefined);
    const counters = policies.retries().query;
    expect(counters.requests).toBe(40);
    // The gate opens only with ≥ 10 attempts in the window; by then the budget floor (5) is spent.
    expect(counters.retries).toBeLessThanOrEqual(0.1 * 40 + 5);
    expect(counters.gated).toBeGreaterThan(20);
    expect(fake.calls.length).toBe(counters.requests + counters.retries);
  });

  it('spends no more retries than the budget when the gate lets everything through', async () => {
    const { policies } = make({ BREAKER_VOLUME_THRESHOLD: '100000', RETRY_MIN_SUCCESS_RATE: '0', RETRY_BUDGET_RATIO: '0.1', RETRY_BUDGET_MIN_PER_S: '0' });
    const fake = fakeUpstream(async () => {
      throw unreachable();
    });
    const query = policies.wrap('query', fake.upstream);
    for (let i = 0; i < 50; i++) await query.call(Patterns.GetGift, { giftId: 'g1' }).catch(() => undefined);
    const counters = policies.retries().query;
    expect(counters.retries).toBe(5);
    expect(counters.overBudget).toBe(45);
    expect(fake.calls).toHaveLength(55);
  });

  it('opens the route\'s breaker on failures and then fails fast without calling the service', async () => {
    const { policies } = make({ BREAKER_VOLUME_THRESHOLD: '5', BREAKER_FAILURE_PERCENT: '50', RETRY_MAX_ATTEMPTS: '1' });
    let isDown = true;
    const fake = fakeUpstream(async () => {
      if (isDown) throw unreachable();
      return 'up';
    });
    const delivery = policies.wrap('delivery', fake.upstream);
    for (let i = 0; i < 5; i++) await delivery.call(Patterns.ClaimGift, { orderId: `o${i}` }).catch(() => undefined);
    const before = fake.calls.length;
    const started = performance.now();
    await expect(delivery.call(Patterns.ClaimGift, { orderId: 'x' })).rejects.toMatchObject({ code: ErrorCode.CircuitOpen, retryAfterS: 5 });
    expect(performance.now() - started).toBeLessThan(20);
    expect(fake.calls.length).toBe(before);
    expect(policies.snapshot()).toEqual([expect.objectContaining({ name: 'delivery.gift.claim', state: 'open', failures: 5 })]);
    // Other routes keep their own closed breaker.
    isDown = false;
    await expect(delivery.call(Patterns.QueueCounts, {})).resolves.toBe('up');
  });

  it('sheds the excess of a saturated slow class at once and keeps the fast class free', async () => {
    const { policies } = make({ BULKHEAD_SLOW_MAX_CONCURRENT: '2', BULKHEAD_SLOW_MAX_QUEUED: '1' });
    const hung: Array<() => void> = [];
    const fake = fakeUpstream((_n, options) => (options.timeoutMs === 3000 ? new Promise((resolve) => hung.push(() => resolve('late'))) : Promise.resolve('fast')));
    const delivery = policies.wrap('delivery', fake.upstream);
    const query = policies.wrap('query', fake.upstream);
    const slow = [1, 2, 3].map((i) => delivery.call(Patterns.ClaimGift, { orderId: `o${i}` }));
    const started = performance.now();
    await expect(delivery.call(Patterns.ClaimGift, { orderId: 'o4' })).rejects.toMatchObject({ code: ErrorCode.BulkheadFull, retryAfterS: 1 });
    expect(performance.now() - started).toBeLessThan(20);
    await expect(query.call(Patterns.GetGift, { giftId: 'g1' })).resolves.toBe('fast');
    expect(policies.bulkheads()).toEqual([
      expect.objectContaining({ name: 'fast', active: 0 }),
      expect.objectContaining({ name: 'slow', active: 2, queued: 1, rejected: 1 }),
    ]);
    hung.splice(0).forEach((r) => r());
    await Promise.all(slow.slice(0, 2));
    hung.splice(0).forEach((r) => r());
    await expect(Promise.all(slow)).resolves.toEqual(['late', 'late', 'late']);
    // A bulkhead rejection is local: it never counts against the breaker.
    expect(policies.snapshot().find((b) => b.name === 'delivery.gift.claim')).toMatchObject({ failures: 0 });
  });

  it('with ADMISSION_MODE=adaptive has no class bulkhead (the door bounds concurrency)', async () => {
    const { policies } = make({ ADMISSION_MODE: 'adaptive', BULKHEAD_SLOW_MAX_CONCURRENT: '2', BULKHEAD_SLOW_MAX_QUEUED: '0' });
    const release: Array<() => void> = [];
    const fake = fakeUpstream(() => new Promise((resolve) => release.push(() => resolve({ ok: 1 }))));
    const delivery = policies.wrap('delivery', fake.upstream);
    const calls = [1, 2, 3, 4, 5].map((n) => delivery.call(Patterns.ClaimGift, { orderId: `o${n}` }));
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.calls).toHaveLength(5);
    release.forEach((r) => r());
    await expect(Promise.all(calls)).resolves.toHaveLength(5);
  });

  it('with ADMISSION_MODE=adaptive throttles at the client once the service refuses most calls, and sends again once the window forgets', async () => {
    const { policies } = make({ ADMISSION_MODE: 'adaptive', CLIENT_THROTTLE_K: '2', BREAKER_VOLUME_THRESHOLD: '1000000' });
    let overloaded = true;
    const fake = fakeUpstream(async () => {
      if (overloaded) throw AppError.fromWire({ code: ErrorCode.ServiceUnavailable, message: 'instance overloaded; try again', retryable: true, overloaded: true });
      return { ok: 1 };
    });
    const delivery = policies.wrap('delivery', fake.upstream);
    for (let n = 0; n < 200; n++) {
      await expect(delivery.call(Patterns.ClaimGift, { orderId: `o${n}` })).rejects.toMatchObject({ code: ErrorCode.ServiceUnavailable });
    }
    expect(policies.retries().delivery.throttled).toBeGreaterThan(100); // most never left the gateway
    expect(fake.calls.length).toBeLessThan(100);
    overloaded = false;
    const later = Date.now() + 11_000; // the throttle's window (10 s) has slid past the refusals
    const now = jest.spyOn(Date, 'now').mockImplementation(() => later);
    try {
      const sentBefore = fake.calls.length;
      for (let n = 0; n < 100; n++) await delivery.call(Patterns.ClaimGift, { orderId: `p${n}` });
      expect(fake.calls.length - sentBefore).toBe(100);
    } finally {
      now.mockRestore();
    }
  });

  it('with ADMISSION_MODE=adaptive never throttles for a dependency\'s 503 (regression: a PostgreSQL cut throttled every query call for ~20 s after it)', async () => {
    const { policies } = make({ ADMISSION_MODE: 'adaptive', CLIENT_THROTTLE_K: '2', BREAKER_VOLUME_THRESHOLD: '1000000', RETRY_MAX_ATTEMPTS: '1' });
    // The query service's answer for an archived order while PostgreSQL is unreachable (RpcErrorsInterceptor).
    const fake = fakeUpstream(async () => {
      throw AppError.fromWire({ code: ErrorCode.ServiceUnavailable, message: 'storage is unavailable; try again', retryable: true });
    });
    const query = policies.wrap('query', fake.upstream);
    for (let n = 0; n < 200; n++) {
      await expect(query.call(Patterns.GetOrder, { meta: { requestId: `r${n}` }, orderId: `o${n}` })).rejects.toMatchObject({ code: ErrorCode.ServiceUnavailable });
    }
    expect(policies.retries().query.throttled).toBe(0);
    expect(fake.calls).toHaveLength(200); // every call reached the service
  });

  it('answers a read from its last good value: activities always, gifts only under query.serveStale', async () => {
    const flags: Record<string, boolean> = {};
    const { policies } = make({ RETRY_MAX_ATTEMPTS: '1' }, flags);
    let isDown = false;
    const fake = fakeUpstream(async () => {
      if (isDown) throw unreachable();
      return { version: 1 };
    });
    const query = policies.wrap('query', fake.upstream);
    await query.call(Patterns.GetActivity, { meta: { requestId: 'r1' }, activityId: 'a1' });
    await query.call(Patterns.GetGift, { meta: { requestId: 'r2' }, giftId: 'g1' });
    isDown = true;
    await expect(query.call(Patterns.GetActivity, { meta: { requestId: 'r3' }, activityId: 'a1' })).resolves.toEqual({ version: 1 });
    await expect(query.call(Patterns.GetActivity, { meta: { requestId: 'r3' }, activityId: 'a2' })).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    await expect(query.call(Patterns.GetGift, { meta: { requestId: 'r4' }, giftId: 'g1' })).rejects.toMatchObject({ code: ErrorCode.UpstreamUnreachable });
    flags[Flags.QueryServeStale] = true;
    await expect(query.call(Patterns.GetGift, { meta: { requestId: 'r5' }, giftId: 'g1' })).resolves.toEqual({ version: 1 });
    // Business answers are never masked by a stale value.
    isDown = false;
    const notFound = fakeUpstream(async () => {
      throw new AppError(ErrorCode.NotFound, 'gone');
    });
    const other = policies.wrap('query', notFound.upstream);
    await expect(other.call(Patterns.GetGift, { giftId: 'g1' })).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('with RESILIENCE_POLICIES=off calls bare: class timeout, connect-refused retry by the client, no breaker', async () => {
    const { policies } = make({ RESILIENCE_POLICIES: 'off', BREAKER_VOLUME_THRESHOLD: '1' });
    const fake = fakeUpstream(async () => {
      throw unreachable();
    });
    const query = policies.wrap('query', fake.upstream);
    const delivery = policies.wrap('delivery', fake.upstream);
    for (let i = 0; i < 3; i++) await query.call(Patterns.GetGift, { giftId: 'g1' }).catch(() => undefined);
    await delivery.call(Patterns.ClaimGift, { orderId: 'o1' }).catch(() => undefined);
    expect(fake.calls.slice(0, 2)).toEqual([
      expect.objectContaining({ timeoutMs: 300, retryOnOtherInstance: true }),
      expect.objectContaining({ timeoutMs: 300, retryOnOtherInstance: true }),
    ]);
    expect(fake.calls[3]).toMatchObject({ timeoutMs: 3000, retryOnOtherInstance: false });
    expect(policies.snapshot()).toEqual([]);
  });

  it('keys stale values by pattern and request fields, not the request id', () => {
    expect(staleKey('gift.get', { meta: { requestId: 'r1' }, giftId: 'g1' })).toBe(staleKey('gift.get', { meta: { requestId: 'r2' }, giftId: 'g1' }));
    expect(staleKey('gift.get', { giftId: 'g1' })).not.toBe(staleKey('gift.get', { giftId: 'g2' }));
    expect(staleKey('order.list-for-user', { userId: 'u', limit: 5 })).toBe('order.list-for-user|userId=u|limit=5');
  });
});
