import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { AdmissionView } from '../../apps/gateway/src/admin/admin-admission.controller.js';
import { http } from '../support/http.js';
import { quantile, runOpenLoop, type StormRequest } from '../support/open-loop.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';

jest.setTimeout(180_000);

// A click storm through the public API of 2 gateways, 3 query and 2 delivery instances with the
// default (adaptive) admission control: claims offered open-loop at 4x what the deployment just
// served in a closed loop. Whatever the machine's speed, no request may go unanswered or get a 500,
// every refusal must be a contract error with Retry-After, and once the storm is over claims must
// succeed again. Goodput and latencies are printed (timing goals live in bench/storm, not here).
describe('click storm (2 gateways, 3 query, 2 delivery, adaptive admission)', () => {
  let suite: Suite;
  const GIFT = 'storm-e2e-g1';
  const USERS = 2_000;
  let authorizations: string[];
  const run = randomUUID().slice(0, 8);
  let seq = 0;
  const claim = (): StormRequest => {
    const n = ++seq;
    return { cls: 'claim', method: 'POST', path: `/api/gifts/${GIFT}/claims`, headers: { authorization: authorizations[n % USERS]!, 'idempotency-key': `st-${run}-${n}` } };
  };

  beforeAll(async () => {
    suite = await startSuite({ gateways: 2, queries: 3, deliveries: 2, providerEnv: { FAULT_LATENCY_MS: '0' } });
    const res = await http('PUT', `${suite.gatewayUrls[0]}/admin/activities/storm-e2e`, {
      token: suite.adminToken,
      body: demoActivity(suite.providerUrl, [{ giftId: GIFT, inventory: 100_000_000, perUserLimit: 100_000_000 }]),
    });
    expect(res.status).toBeLessThan(300);
    authorizations = await Promise.all(Array.from({ length: USERS }, async (_, i) => `Bearer ${await suite.token(`storm-user-${i}`)}`));
  });
  afterAll(async () => suite?.stop());

  it('answers every request of a 4x storm, never with a 500, refuses with Retry-After, and serves claims again afterwards', async () => {
    const capacity = await closedLoop(suite, claim, 3_000);
    const refusedBefore = await claimsRefusedByGateways(suite);
    const storm = await runOpenLoop({ origins: suite.gatewayUrls, rateAt: () => 4 * capacity, durationMs: 6_000, next: claim, giveUpMs: 10_000, inspectErrors: true });
    const by = (pred: (s: (typeof storm.samples)[number]) => boolean) => storm.samples.filter(pred);
    const delivered = by((s) => s.status === 200);
    const refused = by((s) => s.status === 503 || s.status === 429);
    console.log(
      `storm: capacity ${capacity.toFixed(0)} claims/s, offered ${(storm.samples.length / 6).toFixed(0)}/s, delivered ${(delivered.length / 6).toFixed(0)}/s ` +
        `(${((delivered.length / 6 / capacity) * 100).toFixed(0)}%), refused ${refused.length} (p99 ${quantile(refused.map((s) => s.latencyMs), 0.99).toFixed(1)} ms), ` +
        `admitted p99 ${quantile(delivered.map((s) => s.latencyMs), 0.99).toFixed(1)} ms, generator late up to ${storm.sentLateMs.toFixed(0)} ms`,
    );
    const statuses = [...new Set(storm.samples.map((s) => s.status))].sort();
    expect(by((s) => s.status === 0)).toHaveLength(0); // every request answered
    expect(statuses.every((status) => [200, 202, 429, 503].includes(status))).toBe(true); // no 500, no stray 4xx
    expect(delivered.length).toBeGreaterThan(0);
    for (const s of refused) {
      expect(s.retryAfter).toMatch(/^\d+$/);
      expect(s.code).toBe(s.status === 503 ? 'SERVICE_UNAVAILABLE' : 'RATE_LIMITED');
    }
    // The gateways' own account of their refusals (GET /admin/admission): the claims their doors
    // refused (priority level, delivery limit, cohorts) are among the 503s the clients saw, never more.
    const claimsRefusedAtDoors = (await claimsRefusedByGateways(suite)) - refusedBefore;
    expect(claimsRefusedAtDoors).toBeLessThanOrEqual(by((s) => s.status === 503).length);
    // Capacity comes back: claims one after another all succeed once the storm is over.
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < 20; i++) {
      const request = claim();
      const res = await http('POST', `${suite.gatewayUrls[i % 2]}${request.path}`, { headers: request.headers, body: {} });
      expect(res.status).toBe(200);
    }
  });
});

/**
 * Claims the gateways' doors refused since they started (priority level, delivery limit, cohorts), as
 * `GET /admin/admission` counts them; checks each view adds up (refused = the sum by class).
 */
async function claimsRefusedByGateways(suite: Suite): Promise<number> {
  let refused = 0;
  for (const url of suite.gatewayUrls) {
    const view = (await http('GET', `${url}/admin/admission`, { token: suite.adminToken })).body as AdmissionView;
    const priority = view.priority!;
    expect(priority.refused).toBe(Object.values(priority.refusedByClass).reduce((a, b) => a + b, 0));
    expect(priority.cpuShare).toBeGreaterThanOrEqual(0);
    expect(priority.cpuShare).toBeLessThanOrEqual(1);
    const claims = view.services!.delivery.classes.claim;
    refused += priority.refusedByClass.claim + claims.refusedLimit + claims.refusedCohort;
  }
  return refused;
}

/** Claims per second answered 200 by 32 callers in a closed loop over both gateways. */
async function closedLoop(suite: Suite, next: () => StormRequest, durationMs: number): Promise<number> {
  const pools = suite.gatewayUrls.map((origin) => new Pool(origin, { connections: 16 }));
  const end = Date.now() + durationMs;
  let ok = 0;
  await Promise.all(
    Array.from({ length: 32 }, async (_, i) => {
      while (Date.now() < end) {
        const request = next();
        const res = await pools[i % pools.length]!.request({ method: request.method, path: request.path, headers: request.headers });
        await res.body.dump();
        if (res.statusCode === 200) ok++;
      }
    }),
  );
  await Promise.all(pools.map((p) => p.close()));
  return ok / (durationMs / 1000);
}
