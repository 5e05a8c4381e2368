import { freePort } from '../support/ports.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { http } from '../support/http.js';
import { spawnApp, type RunningApp } from '../support/spawn-app.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(180_000);

const FAST_TIMEOUT_MS = 300;
const CONCURRENCY = 20;

interface Sample {
  startMs: number;
  latencyMs: number;
  status: number;
}

/**
 * Steady read load: CONCURRENCY loops of GET /api/gifts/{giftId} until `stop()` (or a hard cap of
 * 120 s, so a broken test never spins forever). Every answer is kept with its start time.
 */
function steadyLoad(url: string, token: string) {
  const samples: Sample[] = [];
  let isRunning = true;
  const hardStop = Date.now() + 120_000;
  const worker = async () => {
    while (isRunning && Date.now() < hardStop) {
      const startMs = Date.now();
      let status = 0;
      try {
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0; // no answer at all counts as a failure
      }
      samples.push({ startMs, latencyMs: Date.now() - startMs, status });
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  return {
    samples,
    stop: async () => {
      isRunning = false;
      await Promise.all(workers);
    },
  };
}

function summary(samples: Sample[], fromMs: number, toMs = Infinity) {
  const window = samples.filter((s) => s.startMs >= fromMs && s.startMs < toMs);
  const ok = window.filter((s) => s.status === 200).length;
  const latencies = window.map((s) => s.latencyMs).sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)] ?? 0;
  return { requests: window.length, successRate: window.length ? ok / window.length : 0, p99Ms: p99, failed: window.length - ok };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Success-rate routing through real processes: 3 query instances under a steady read load of 20
// concurrent clients; one is killed, one is hung (SIGSTOP) and resumed, one joins through the
// Redis registry. Timing margins are generous: the machine has 2 noisy cores.
describe('routing (1 gateway, 3 query, 1 delivery, real Redis)', () => {
  let suite: Suite;
  let gw: string;
  let giftUrl: string;
  let token: string;
  let load: ReturnType<typeof steadyLoad>;
  const extra: RunningApp[] = [];
  const address = (i: number) => `127.0.0.1:${suite.queryTcpPorts[i]}`;
  const upstreams = async () => {
    const res = await http('GET', `${gw}/admin/upstreams`, { token: suite.adminToken });
    expect(res.status).toBe(200);
    return res.body.query as Array<{ address: string; state: string; requests: number; ejections: number; ejectedUntil?: string }>;
  };
  const stateOf = async (addr: string) => (await upstreams()).find((u) => u.address === addr);

  beforeAll(async () => {
    suite = await startSuite({ queries: 3, deliveries: 1 });
    gw = suite.gatewayUrls[0];
    const published = await http('PUT', `${gw}/admin/activities/a-routing`, {
      token: suite.adminToken,
      body: demoActivity(suite.providerUrl, [{ giftId: 'route-g1' }]),
    });
    expect([200, 201]).toContain(published.status);
    token = await suite.token('router-user');
    giftUrl = `${gw}/api/gifts/route-g1`;
    load = steadyLoad(giftUrl, token);
    await waitFor(async () => (await upstreams()).every((u) => u.requests > 0), { timeoutMs: 10_000, what: 'traffic on every query instance' });
  });
  afterAll(async () => {
    await load?.stop();
    await Promise.all(extra.map((app) => app.stop()));
    await suite?.stop();
  });
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(suite.logs());
  });

  it('lists every instance healthy in /admin/upstreams and needs the admin token', async () => {
    const list = await upstreams();
    expect(list.map((u) => u.address).sort()).toEqual([0, 1, 2].map(address).sort());
    for (const u of list) expect(u).toMatchObject({ state: 'healthy', ejections: 0, successRate: expect.any(Number), p99Ms: expect.any(Number) });
    expect((await http('GET', `${gw}/admin/upstreams`)).status).toBe(401);
  });

  it('SIGKILL: from 2 s after the kill at least 99% succeed, and the instance shows ejected', async () => {
    const killedAt = Date.now();
    suite.queries[0].signal('SIGKILL');
    await waitFor(async () => (await stateOf(address(0)))?.state === 'ejected', { timeoutMs: 2_000, what: 'the killed instance to be ejected' });
    await pause(6_000);
    const after = summary(load.samples, killedAt + 2_000, Date.now());
    console.log('SIGKILL, from 2 s after:', after);
    expect(after.requests).toBeGreaterThan(100);
    expect(after.successRate).toBeGreaterThanOrEqual(0.99);
    expect((await stateOf(address(0)))?.state).not.toBe('healthy');

    // Restarted on the same port, it is probed and readmitted.
    const restarted = await spawnApp('query', {
      REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, TCP_PORT: String(suite.queryTcpPorts[0]), HTTP_PORT: String(await freePort()),
    }, { label: 'query-1-restarted' });
    extra.push(restarted);
    await waitFor(async () => (await stateOf(address(0)))?.state === 'healthy', { timeoutMs: 35_000, intervalMs: 200, what: 'the restarted instance to be healthy' });
  });

  it('SIGSTOP: from 3 s after at least 99% succeed with p99 under the fast timeout; SIGCONT: healthy within 15 s', async () => {
    const stoppedAt = Date.now();
    suite.queries[1].signal('SIGSTOP');
    await waitFor(async () => (await stateOf(address(1)))?.state === 'ejected', { timeoutMs: 3_000, what: 'the hung instance to be ejected' });
    await pause(7_000);
    const after = summary(load.samples, stoppedAt + 3_000, Date.now());
    console.log('SIGSTOP, from 3 s after:', after, 'first 3 s:', summary(load.samples, stoppedAt, stoppedAt + 3_000));
    expect(after.requests).toBeGreaterThan(100);
    expect(after.successRate).toBeGreaterThanOrEqual(0.99);
    expect(after.p99Ms).toBeLessThan(FAST_TIMEOUT_MS);

    const resumedAt = Date.now();
    suite.queries[1].signal('SIGCONT');
    await waitFor(async () => (await stateOf(address(1)))?.state === 'healthy', { timeoutMs: 15_000, intervalMs: 200, what: 'the resumed instance to be healthy' });
    console.log(`SIGCONT: healthy after ${Date.now() - resumedAt} ms`);
    const traffic = (await stateOf(address(1)))!.requests;
    await waitFor(async () => ((await stateOf(address(1)))?.requests ?? 0) > traffic, { timeoutMs: 5_000, what: 'traffic on the readmitted instance' });
  });

  it('an instance that registers in Redis takes traffic within 5 s, and leaves when it stops', async () => {
    const tcpPort = await freePort();
    const joined = await spawnApp('query', {
      REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, TCP_PORT: String(tcpPort), HTTP_PORT: String(await freePort()),
    }, { label: 'query-4-discovered' });
    extra.push(joined);
    const readyAt = Date.now();
    const addr = `127.0.0.1:${tcpPort}`;
    await waitFor(async () => ((await stateOf(addr))?.requests ?? 0) > 0, { timeoutMs: 5_000, intervalMs: 100, what: 'the registered instance to take traffic' });
    console.log(`discovered instance took traffic ${Date.now() - readyAt} ms after it was ready`);

    const before = load.samples.length;
    await joined.stop();
    await waitFor(async () => (await stateOf(addr)) === undefined, { timeoutMs: 5_000, intervalMs: 100, what: 'the stopped instance to leave' });
    await pause(1_000);
    const since = load.samples.slice(before);
    expect(since.filter((s) => s.status === 200).length / since.length).toBeGreaterThanOrEqual(0.99);
  });
});
