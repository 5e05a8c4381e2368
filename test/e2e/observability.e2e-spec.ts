import { randomUUID } from 'node:crypto';
import { http } from '../support/http.js';
import { httpUrlOf } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(120_000);

/** Series of `name` in a Prometheus text scrape: labels and value. */
function series(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const labelText = l.includes('{') ? l.slice(l.indexOf('{') + 1, l.lastIndexOf('}')) : '';
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(l.slice(l.lastIndexOf(' ') + 1)) };
    });
}

const events = (logs: string[], event: string) => logs.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l));

// Logs and metrics as an SRE reads them, from real processes: per-request lines, state-change
// events, the upstream label of an ejected instance, and dead letters counted by reason.
describe('observability (1 gateway, 2 query, 1 delivery, real Redis)', () => {
  let suite: Suite;
  let gw: string;
  let token: string;
  const badAddress = () => `127.0.0.1:${suite.queryTcpPorts[0]}`;

  beforeAll(async () => {
    suite = await startSuite({
      queries: 2,
      deliveries: 1,
      // The router sends little to an instance that fails; judge it on few calls.
      gatewayEnv: { ROUTING_MIN_REQUESTS: '3', ROUTING_CONSECUTIVE_FAILURES: '2' },
      deliveryEnv: { QUEUE_ATTEMPTS: '2', QUEUE_BACKOFF_BASE_MS: '50', QUEUE_BACKOFF_MAX_MS: '100' },
    });
    gw = suite.gatewayUrls[0];
    const published = await http('PUT', `${gw}/admin/activities/a-obs`, {
      token: suite.adminToken,
      body: demoActivity(suite.providerUrl, [{ giftId: 'obs-g1' }, { giftId: 'obs-g2', delivery: 'async' }, { giftId: 'obs-g3', delivery: 'async' }]),
    });
    expect(published.status).toBe(201);
    token = await suite.token('obs-user');
  });
  afterAll(async () => suite?.stop());
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(suite.logs());
  });

  it('logs one http.request line per request (id, route, status, duration), none for health and metrics, no secrets, no boot chatter', async () => {
    const requestId = `obs-${randomUUID()}`;
    expect((await http('GET', `${gw}/api/gifts/obs-g1`, { token, headers: { 'x-request-id': requestId } })).status).toBe(200);
    expect((await http('GET', `${gw}/health/ready`)).status).toBe(200);
    expect((await http('GET', `${gw}/metrics`)).status).toBe(200);
    const gateway = suite.gateways[0];
    const line = await waitFor(() => events(gateway.logs, 'http.request').find((e) => e.requestId === requestId), { timeoutMs: 3_000, what: 'the request line' });
    expect(line).toMatchObject({ level: 'info', app: 'gateway', method: 'GET', route: '/api/gifts/:giftId', path: '/api/gifts/obs-g1', status: 200, durationMs: expect.any(Number) });
    const requestLines = events(gateway.logs, 'http.request');
    expect(requestLines.filter((e) => /^\/(health|metrics)/.test(e.path))).toEqual([]);
    // The publish above was logged too, with its route template.
    expect(requestLines.some((e) => e.route === '/admin/activities/:activityId' && e.status === 201)).toBe(true);
    for (const app of [...suite.gateways, ...suite.queries, ...suite.deliveries]) {
      const text = app.logs.join('\n');
      expect(text).not.toContain(token);
      expect(text).not.toContain(suite.adminToken);
      expect(text).not.toMatch(/Mapped \{|dependencies initialized|RoutesResolver/);
    }
  });

  it('logs a flag change with name, value and actor at the gateway, and as applied on the services', async () => {
    const res = await http('PUT', `${gw}/admin/flags/query.serveStale`, { token: suite.adminToken, headers: { 'x-actor': 'sre.alice' }, body: { enabled: true, reason: 'drill' } });
    expect(res.status).toBe(200);
    const changed = await waitFor(() => events(suite.gateways[0].logs, 'flag.changed')[0], { timeoutMs: 3_000, what: 'the flag.changed line' });
    expect(changed).toMatchObject({ flag: 'query.serveStale', enabled: true, was: false, actor: 'admin:sre.alice', reason: 'drill' });
    const applied = await waitFor(() => events(suite.deliveries[0].logs, 'flag.applied').find((e) => e.flag === 'query.serveStale'), { timeoutMs: 3_000, what: 'the delivery instance to log the flag' });
    expect(applied).toMatchObject({ enabled: true });
    await http('PUT', `${gw}/admin/flags/query.serveStale`, { token: suite.adminToken, body: { enabled: false, reason: 'drill over' } });
  });

  it('names the ejected query instance in the gateway metrics by the `upstream` label, and logs the ejection', async () => {
    const metricsBefore = (await http('GET', `${gw}/metrics`)).text;
    const before = series(metricsBefore, 'rampart_upstream_state').filter((s) => s.labels.service === 'query');
    expect(before.map((s) => s.labels.upstream).sort()).toEqual([badAddress(), `127.0.0.1:${suite.queryTcpPorts[1]}`].sort());
    for (const s of before) expect(s.labels).not.toHaveProperty('instance');
    // The policy metrics are exported from the start.
    for (const name of ['rampart_retries_total', 'rampart_retries_suppressed_total', 'rampart_stale_answers_total', 'rampart_bulkhead_rejected_total', 'rampart_rate_limited_total']) {
      expect({ name, exported: metricsBefore.includes(`# TYPE ${name} counter`) }).toEqual({ name, exported: true });
    }

    // Hung, not dead: its connection stays open, so calls reach it and time out (a killed instance's
    // refused connection is merely skipped by the router, without the failures an ejection needs).
    suite.queries[0].signal('SIGSTOP');
    // Bounded read traffic (at most 4000 requests, 20 s) until the gateway ejects the hung instance.
    const deadline = Date.now() + 20_000;
    let sent = 0;
    let bad: { address: string; state: string } | undefined;
    while (bad?.state !== 'ejected' && sent < 4_000 && Date.now() < deadline) {
      await Promise.all(Array.from({ length: 8 }, () => http('GET', `${gw}/api/gifts/obs-g1`, { token }).catch(() => undefined)));
      sent += 8;
      const list = (await http('GET', `${gw}/admin/upstreams`, { token: suite.adminToken })).body.query as Array<{ address: string; state: string }>;
      bad = list.find((u) => u.address === badAddress());
    }
    expect({ sent, bad }).toEqual({ sent, bad: expect.objectContaining({ state: 'ejected' }) });

    const after = series((await http('GET', `${gw}/metrics`)).text, 'rampart_upstream_state');
    expect(after.find((s) => s.labels.upstream === badAddress())).toEqual({ labels: { app: 'gateway', service: 'query', upstream: badAddress() }, value: 2 });
    expect(after.find((s) => s.labels.upstream === `127.0.0.1:${suite.queryTcpPorts[1]}`)?.value).toBe(0);
    const logged = events(suite.gateways[0].logs, 'endpoint.ejected');
    expect(logged.some((e) => JSON.stringify(e).includes(badAddress()))).toBe(true);
    expect(logged[0].level).toBe('warn');
    suite.queries[0].signal('SIGCONT');
  });

  it('counts dead letters by reason: a provider 4xx is `refused`, tries running out is `exhausted`', async () => {
    const metricsUrl = `${httpUrlOf(suite.deliveries[0])}/metrics`;
    const deadLetters = async () =>
      Object.fromEntries(series((await http('GET', metricsUrl)).text, 'rampart_dead_letters_total').map((s) => [s.labels.reason, s.value]));
    expect(await deadLetters()).toEqual({ refused: 0, exhausted: 0, invalid: 0 });

    const claim = async (giftId: string) => {
      const res = await http('POST', `${gw}/api/gifts/${giftId}/claims`, { token: await suite.token(`obs-dl-${giftId}`), headers: { 'idempotency-key': randomUUID() }, body: {} });
      expect(res.status).toBe(202);
    };
    expect((await http('PUT', `${suite.providerUrl}/_faults`, { body: { rejectRate: 1 } })).status).toBe(200);
    await claim('obs-g2');
    await waitFor(async () => (await deadLetters()).refused === 1, { timeoutMs: 15_000, what: 'a refused dead letter' });

    expect((await http('PUT', `${suite.providerUrl}/_faults`, { body: { errorRate: 1 } })).status).toBe(200);
    await claim('obs-g3');
    await waitFor(async () => (await deadLetters()).exhausted === 1, { timeoutMs: 20_000, what: 'an exhausted dead letter' });
    await http('PUT', `${suite.providerUrl}/_faults`, { body: {} });
    expect(await deadLetters()).toEqual({ refused: 1, exhausted: 1, invalid: 0 });
    const lines = events(suite.deliveries[0].logs, 'job.dead-lettered');
    expect(lines.map((l) => l.reason).sort()).toEqual(['exhausted', 'refused']);
  });
});
