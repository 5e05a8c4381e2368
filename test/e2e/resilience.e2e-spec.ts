import { randomUUID } from 'node:crypto';
import { Flags, serviceShedFlag } from '@app/contracts';
import { expectError, http } from '../support/http.js';
import { setFaults } from '../support/orders.js';
import { startRedisServer, type TestRedis } from '../support/redis.js';
import type { RunningApp } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';
import { extraGateway, fakeService } from './resilience-support.js';

jest.setTimeout(120_000);

// Resilience policies end to end: real processes, real faults (provider stub faults, a report
// sink that hangs under SIGSTOP, a query stand-in that answers errors), measured at the gateway.
describe('resilience policies', () => {
  let suite: Suite;
  let reportRedis: TestRedis & { child: { pid?: number } };
  let gwA: string;
  let gwB: string;
  const extra: RunningApp[] = [];

  beforeAll(async () => {
    reportRedis = await startRedisServer();
    suite = await startSuite({
      gateways: 2,
      gatewayEnv: { DISCOVERY_ENABLED: 'false' },
      deliveryEnv: {
        REPORT_REDIS_URL: reportRedis.url,
        PROVIDER_TIMEOUT_MS: '500',
        PROVIDER_BREAKER_VOLUME: '5',
        PROVIDER_BREAKER_FAILURE_PERCENT: '50',
        PROVIDER_BREAKER_HALF_OPEN_MS: '4000',
      },
    });
    [gwA, gwB] = suite.gatewayUrls;
    const res = await http('PUT', `${gwA}/admin/activities/res-a1`, {
      token: suite.adminToken,
      body: demoActivity(suite.providerUrl, [{ giftId: 'res-g1', inventory: 100_000, perUserLimit: 1000 }, { giftId: 'res-g2', inventory: 100_000, perUserLimit: 1000 }]),
    });
    expect(res.status).toBeLessThan(300);
  });
  afterAll(async () => {
    await Promise.all(extra.map((a) => a.stop()));
    process.kill(reportRedis?.child.pid ?? 0, 'SIGCONT');
    await suite?.stop();
    await reportRedis?.stop();
  });
  afterEach(async () => {
    await setFaults(suite.providerUrl, {});
  });

  const setFlag = (gw: string, name: string, enabled: boolean) =>
    http('PUT', `${gw}/admin/flags/${name}`, { token: suite.adminToken, body: { enabled, reason: 'e2e' } });
  const claim = async (gw: string, userId: string, key: string = randomUUID(), giftId = 'res-g1') => {
    const token = await suite.token(userId);
    const t0 = performance.now();
    const res = await http('POST', `${gw}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': key }, body: {} });
    return { ...res, ms: performance.now() - t0 };
  };
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];
  const p99 = (values: number[]) => percentile(values, 0.99);

  it('opens the provider breaker on a failing provider: claims get 202 queued in < 50 ms p99, then it half-opens and closes after recovery', async () => {
    await setFaults(suite.providerUrl, { errorRate: 1 });
    // Failures past the volume threshold open the provider's breaker in delivery.
    for (let i = 0; i < 8; i++) await claim(gwA, `brk-warm-${i}`);
    const breakers = async () => (await http('GET', `${gwA}/admin/breakers`, { token: suite.adminToken })).body.breakers as Array<{ name: string; state: string; scope: string; rejects: number }>;
    const provider = async () => (await breakers()).find((b) => b.scope === 'delivery' && b.name.includes('127.0.0.1'));
    await waitFor(async () => (await provider())?.state === 'open', { timeoutMs: 5_000, what: 'provider breaker open' });
    for (let i = 0; i < 5; i++) await claim(gwA, `brk-open-warm-${i}`);
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await claim(gwA, `brk-open-${i}`);
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('queued');
      latencies.push(res.ms);
    }
    const openP99 = p99(latencies);
    console.log(`claims while the provider breaker is open: p99 ${openP99.toFixed(1)} ms over ${latencies.length}`);
    expect((await provider())?.rejects).toBeGreaterThan(0);
    // Recovery: after the half-open delay one trial goes through, succeeds, and closes the circuit.
    await setFaults(suite.providerUrl, {});
    const states = new Set<string>();
    await waitFor(
      async () => {
        const res = await claim(gwA, `brk-rec-${randomUUID().slice(0, 8)}`);
        const state = (await provider())?.state ?? 'none';
        states.add(state);
        return res.status === 200 && state === 'closed';
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'provider breaker closed after recovery' },
    );
    // The gateway's own route breaker stayed closed: delivery answered every time.
    expect((await breakers()).find((b) => b.name === 'delivery.gift.claim')?.state).toBe('closed');
    // Checked last, so a slow moment cannot leave the breaker open for the tests after this one.
    // The goal is < 50 ms (printed above); the assertion leaves a 2x margin for a loaded CI machine.
    expect(openP99).toBeLessThan(100);
  });

  it('applies a flag set through gateway A on gateway B within 1 s (shed query: 503 at once with Retry-After)', async () => {
    const token = await suite.token('flag-user');
    expect((await http('GET', `${gwB}/api/gifts/res-g1`, { token })).status).toBe(200);
    const setAt = performance.now();
    expect((await setFlag(gwA, serviceShedFlag('query'), true)).status).toBe(200);
    let shedMs = 0;
    await waitFor(
      async () => {
        const res = await http('GET', `${gwB}/api/gifts/res-g1`, { token });
        if (res.status !== 503) return false;
        shedMs = performance.now() - setAt;
        expect(res.headers.get('retry-after')).toBe('1');
        return true;
      },
      { timeoutMs: 3_000, intervalMs: 20, what: 'gateway B to shed query' },
    );
    console.log(`flag applied on gateway B after ${shedMs.toFixed(0)} ms`);
    expect(shedMs).toBeLessThan(1_000);
    const started = performance.now();
    expectError(await http('GET', `${gwB}/api/gifts/res-g1`, { token }), 503, 'SERVICE_UNAVAILABLE');
    // At once: well under the fast class's 300 ms timeout, which a call to the service would wait for.
    expect(performance.now() - started).toBeLessThan(200);
    await setFlag(gwA, serviceShedFlag('query'), false);
    await waitFor(async () => (await http('GET', `${gwB}/api/gifts/res-g1`, { token })).status === 200, { timeoutMs: 1_000, intervalMs: 20, what: 'gateway B to serve again' });
  });

  it('keeps flags across a gateway restart', async () => {
    const gw = await extraGateway(suite, {}, 'gateway-restart');
    const token = await suite.token('restart-user');
    expect((await setFlag(gw.url, serviceShedFlag('delivery'), true)).status).toBe(200);
    expect((await claim(gw.url, 'restart-user')).status).toBe(503);
    expect(await gw.app.stop()).toBe(0);
    const again = await extraGateway(suite, {}, 'gateway-restarted', gw.port);
    extra.push(again.app);
    const flags = await http('GET', `${again.url}/admin/flags`, { token: suite.adminToken });
    expect(JSON.stringify(flags.body)).toContain(serviceShedFlag('delivery'));
    const shed = await claim(again.url, 'restart-user');
    expectError(shed, 503, 'SERVICE_UNAVAILABLE');
    expect(shed.headers.get('retry-after')).toBe('1');
    await setFlag(again.url, serviceShedFlag('delivery'), false);
    await waitFor(async () => (await claim(again.url, 'restart-user')).status < 300, { timeoutMs: 2_000, intervalMs: 50, what: 'claims again' });
    expect(token).toBeTruthy();
  });

  it('skips the report branch when its sink hangs (SIGSTOPped Redis): claim latency is unaffected', async () => {
    const run = async (tag: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await claim(gwA, `rep-${tag}-${i}`);
        expect(res.status).toBe(200);
        ms.push(res.ms);
      }
      // p90 of 40 sequential claims: a claim waiting on the hung sink would slow every one of them,
      // while a single pause of the machine (GC, the other core busy) must not decide.
      return percentile(ms, 0.9);
    };
    await run('warm');
    const before = await run('before');
    process.kill(reportRedis.child.pid!, 'SIGSTOP');
    let during: number;
    try {
      during = await run('during');
    } finally {
      process.kill(reportRedis.child.pid!, 'SIGCONT');
    }
    console.log(`claim p90 with the report sink healthy ${before.toFixed(1)} ms, hung ${during.toFixed(1)} ms`);
    expect(during).toBeLessThan(Math.max(before * 2, before + 50));
  });

  it('limits new claims per user across gateways (429 RATE_LIMITED with Retry-After); repeats of a seen key are not counted', async () => {
    const user = `rl-${randomUUID().slice(0, 8)}`;
    const first = await claim(gwA, user, `${user}-k0`);
    expect(first.status).toBe(200);
    // Repeats of a key already seen are answered from its order, however many.
    for (let i = 0; i < 8; i++) expect((await claim(gwB, user, `${user}-k0`)).status).toBe(200);
    // New keys, alternating gateways, all within one second: the shared limit (5/s) applies.
    await waitFor(() => Date.now() % 1000 < 300, { timeoutMs: 2_000, intervalMs: 5, what: 'start of a second' });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(i % 2 ? gwB : gwA, user, `${user}-n${i}`)));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(4);
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(5);
    expectError(limited[0], 429, 'RATE_LIMITED');
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('keeps retries within budget when a service fails 100% (requests counted at the instances)', async () => {
    // Two stand-in query instances whose storage is down: every call is answered with a transient
    // (retryable) INTERNAL error, so a read may be retried: a service failing 100%.
    const failing = await Promise.all([0, 1].map(() => fakeService(() => ({ ok: false, error: { code: 'INTERNAL', message: 'storage unavailable', retryable: true } }))));
    const gw = await extraGateway(
      suite,
      { QUERY_UPSTREAMS: failing.map((f) => f.address).join(','), BREAKER_VOLUME_THRESHOLD: '100000', RETRY_MAX_ATTEMPTS: '3', ROUTING_CONSECUTIVE_FAILURES: '1000', ROUTING_EJECT_BELOW_RATE: '0' },
      'gateway-failing-query',
    );
    extra.push(gw.app);
    try {
      const token = await suite.token('budget-user');
      const requests = 300;
      let sent = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (sent < requests) {
            sent++;
            const res = await http('GET', `${gw.url}/api/gifts/res-g1`, { token });
            expect(res.status).toBe(500);
          }
        }),
      );
      const arrived = failing.reduce((n, f) => n + f.state.received, 0);
      // Budget: retries ≤ 10% of requests + 3/s floor over its 10 s window (30); the gate stops them sooner.
      console.log(`service failing 100%: ${requests} requests → ${arrived} arrivals at the instances (${arrived - requests} retries)`);
      expect(arrived).toBeGreaterThan(requests); // retries did happen while the gate had too little data
      expect(arrived).toBeLessThanOrEqual(requests * 1.1 + 30);
    } finally {
      await Promise.all(failing.map((f) => f.close()));
    }
  });

  it('answers reads from the last good value under query.serveStale when the breaker is open', async () => {
    // A stand-in query that answers, then hangs: timeouts open the route's breaker.
    let isHung = false;
    const gift = { giftId: 'stale-g1', activityId: 'a', name: 'Skin', remaining: 7, dailyRemaining: null, perUserLimit: 1, delivery: 'sync' };
    const query = await fakeService(() => (isHung ? 'hang' : { ok: true, value: gift }));
    const gw = await extraGateway(suite, { QUERY_UPSTREAMS: query.address, BREAKER_VOLUME_THRESHOLD: '5', TIMEOUT_FAST_MS: '100' }, 'gateway-stale');
    extra.push(gw.app);
    try {
      const token = await suite.token('stale-user');
      expect((await http('GET', `${gw.url}/api/gifts/stale-g1`, { token })).body).toEqual(gift);
      isHung = true;
      for (let i = 0; i < 6; i++) await http('GET', `${gw.url}/api/gifts/stale-g1`, { token });
      const breaker = (await http('GET', `${gw.url}/admin/breakers`, { token: suite.adminToken })).body.breakers.find((b: { name: string }) => b.name === 'query.gift.get');
      expect(breaker.state).toBe('open');
      const t0 = performance.now();
      expectError(await http('GET', `${gw.url}/api/gifts/stale-g1`, { token }), 503, 'SERVICE_UNAVAILABLE');
      expect(performance.now() - t0).toBeLessThan(50);
      await setFlag(gw.url, Flags.QueryServeStale, true);
      await waitFor(async () => (await http('GET', `${gw.url}/api/gifts/stale-g1`, { token })).status === 200, { timeoutMs: 1_000, intervalMs: 20, what: 'stale answer' });
      expect((await http('GET', `${gw.url}/api/gifts/stale-g1`, { token })).body).toEqual(gift);
    } finally {
      await setFlag(gwA, Flags.QueryServeStale, false);
      await query.close();
    }
  });

  it('moves traffic to the backup group when the primary has no healthy instance, and back when it recovers', async () => {
    const primary = await fakeService(() => ({ ok: true, value: { giftId: 'primary' } }));
    const backup = await fakeService(() => ({ ok: true, value: { giftId: 'backup' } }));
    const gw = await extraGateway(
      suite,
      { QUERY_UPSTREAMS: primary.address, QUERY_BACKUP_UPSTREAMS: backup.address, FAILOVER_AFTER_FAILURES: '3', FAILOVER_RECOVER_PROBES: '2', FAILOVER_PROBE_INTERVAL_MS: '100' },
      'gateway-failover',
    );
    extra.push(gw.app);
    const token = await suite.token('failover-user');
    const served = async () => (await http('GET', `${gw.url}/api/gifts/x`, { token })).body?.giftId as string | undefined;
    try {
      expect(await served()).toBe('primary');
      await primary.close(); // connections refused from now on
      await waitFor(async () => (await served()) === 'backup', { timeoutMs: 5_000, intervalMs: 20, what: 'traffic on the backup' });
      // The primary comes back on the same address.
      const port = Number(primary.address.split(':')[1]);
      const revived = await fakeService(() => ({ ok: true, value: { giftId: 'primary' } }), { port });
      try {
        await waitFor(async () => (await served()) === 'primary', { timeoutMs: 10_000, intervalMs: 50, what: 'traffic back on the primary' });
        expect(backup.state.received).toBeGreaterThan(0);
      } finally {
        await revived.close();
      }
    } finally {
      await backup.close();
      await gw.app.stop();
    }
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when the gateway\'s claim breaker is open (delivery failing)', async () => {
    const failing = await fakeService(() => ({ ok: false, error: { code: 'INTERNAL', message: 'down' } }));
    const gw = await extraGateway(suite, { DELIVERY_UPSTREAMS: failing.address, BREAKER_VOLUME_THRESHOLD: '5', BREAKER_HALF_OPEN_MS: '800', CLAIM_RATE_LIMIT_PER_S: '0' }, 'gateway-claim-breaker');
    extra.push(gw.app);
    try {
      for (let i = 0; i < 6; i++) await claim(gw.url, `cb-${i}`);
      const before = failing.state.received;
      const open = await claim(gw.url, 'cb-open');
      expectError(open, 503, 'SERVICE_UNAVAILABLE');
      expect(open.headers.get('retry-after')).toBe('1');
      expect(failing.state.received).toBe(before);
    } finally {
      await failing.close();
    }
  });
});
