import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import { findChromium } from '../support/chromium.js';
import { testDatabaseUrl } from '../support/database.js';
import { http } from '../support/http.js';
import { setFaults } from '../support/orders.js';
import { freePort } from '../support/ports.js';
import { spawnApp, type RunningApp } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(120_000);

/** One claim as the user saw it: the status, the order's status, and the release named in X-Rampart-Release. */
// Accepted: 200 delivered, or 202 when the synchronous attempt ran out of time on this busy box and
// delivery goes on (queued/delivering); a failed order (the provider refused) or an error is not.
const isAccepted = (c: { status: number; orderStatus?: string }) =>
  (c.status === 200 && c.orderStatus === 'delivered') || (c.status === 202 && c.orderStatus !== 'uncertain');
interface Claimed {
  status: number;
  orderStatus?: string;
  /** The error code of a refusal. */
  code?: string;
  release: string | null;
}

// Gray release on real processes (contract section 3, issue 19): two delivery releases (RELEASE=stable,
// RELEASE=canary-1, the canary found through the registry), two gateways. Which release served a claim
// is observed through the X-Rampart-Release response header the gateway sets from the instance it called.
describe('gray release', () => {
  let suite: Suite;
  let canary: RunningApp;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    suite = await startSuite({ gateways: 2, deliveries: 1, gatewayEnv: { CLAIM_RATE_LIMIT_PER_S: '0' } });
    canary = await spawnApp('delivery', {
      REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: suite.databaseSchema,
      TCP_PORT: String(await freePort()), HTTP_PORT: String(await freePort()), RELEASE: 'canary-1',
    }, { label: 'delivery-canary-1' });
    for (const [activityId, giftId] of [['act-a', 'ga'], ['act-b', 'gb']]) {
      const res = await admin('PUT', `/admin/activities/${activityId}`, { body: demoActivity(suite.providerUrl, [{ giftId, inventory: 1_000_000, perUserLimit: 1_000 }]) });
      expect(res.status).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await canary?.stop();
    await suite?.stop();
  });
  beforeEach(() => (shed = 0));
  afterEach(async () => setFaults(suite.providerUrl, {}));

  const admin = (method: string, path: string, opts: { body?: unknown; gateway?: string } = {}) =>
    http(method, `${opts.gateway ?? suite.gatewayUrls[0]}${path}`, { token: suite.adminToken, body: opts.body, headers: { 'x-actor': 'e2e' } });
  const token = async (userId: string) => {
    let t = tokens.get(userId);
    if (!t) tokens.set(userId, (t = await suite.token(userId)));
    return t;
  };
  /**
   * One claim, repeated with its key after a 503 as the contract tells clients to (this 2-core box
   * runs 7 processes: the gateways' adaptive admission sheds some of the load here).
   */
  const claim = async (gateway: string, giftId: string, userId: string): Promise<Claimed> => {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const res = await http('POST', `${gateway}/api/gifts/${giftId}/claims`, { token: await token(userId), headers: { 'idempotency-key': key }, body: {} });
      if (res.status === 503 && attempt < 10) {
        shed++;
        await new Promise((r) => setTimeout(r, 100 * attempt));
        continue;
      }
      return { status: res.status, orderStatus: res.body?.status, code: res.body?.error?.code, release: res.headers.get('x-rampart-release') };
    }
  };
  let shed = 0;
  /** Runs `task(i)` for i in 0..n-1, `concurrency` at a time. */
  const pool = async <T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> => {
    const out: T[] = new Array(n);
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }));
    return out;
  };
  const delivery = async (gateway: string) => (await admin('GET', '/admin/releases', { gateway })).body.services.find((s: { service: string }) => s.service === 'delivery');
  /** Waits until every gateway routes delivery at `weightPct` and knows one instance of each release. */
  const routedEverywhere = (weightPct: number, state = 'progressing') =>
    waitFor(async () => {
      for (const gw of suite.gatewayUrls) {
        const d = await delivery(gw);
        const instances = Object.fromEntries(d.releases.map((r: { release: string; instances: number }) => [r.release, r.instances]));
        if (d.state !== state || d.weightPct !== weightPct || instances['canary-1'] !== 1 || instances.stable !== 1) return false;
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 100, what: `both gateways at ${weightPct} % with both releases known` });
  const setWeight = async (weightPct: number) => {
    const res = await admin('PUT', '/admin/releases/delivery', { body: { canary: 'canary-1', weightPct, reason: `e2e at ${weightPct} %` } });
    expect(res.status).toBe(200);
    await routedEverywhere(weightPct);
  };

  const users = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
  const canaryUsersAt20 = new Set<string>();

  it('weight 20 %: 20 % ± 3 % of 1,000 users on the canary, each user\'s claims on one release through both gateways; a healthy canary stays', async () => {
    await setWeight(20);
    const startedMs = Date.now();
    const seen = await pool(users.length, 24, async (i) => {
      const user = users[i];
      const [a, b] = [await claim(suite.gatewayUrls[0], 'ga', user), await claim(suite.gatewayUrls[1], 'ga', user)];
      return { user, a, b };
    });
    const elapsedS = (Date.now() - startedMs) / 1_000;
    for (const { user, a, b } of seen) {
      expect([user, isAccepted(a), isAccepted(b)]).toEqual([user, true, true]);
      expect([user, a.release]).toEqual([user, b.release]); // the same release through both gateways
      expect(['stable', 'canary-1']).toContain(a.release);
      if (a.release === 'canary-1') canaryUsersAt20.add(user);
    }
    const share = canaryUsersAt20.size / users.length;
    process.stdout.write(`gray-release: ${canaryUsersAt20.size} of ${users.length} users on canary-1 at 20 % (${(share * 100).toFixed(1)} %); 2,000 claims in ${elapsedS.toFixed(1)} s (${shed} 503s repeated)\n`);
    expect(share).toBeGreaterThanOrEqual(0.17);
    expect(share).toBeLessThanOrEqual(0.23);
    // Healthy canary: judged (comparisons made) and left alone.
    await waitFor(async () => (await delivery(suite.gatewayUrls[0])).comparisons.some((c: { id: string; verdict: string }) => c.id === 'act-a' && c.verdict === 'ok'), {
      timeoutMs: 15_000, intervalMs: 500, what: 'a judgement of act-a',
    });
    expect(await delivery(suite.gatewayUrls[1])).toMatchObject({ state: 'progressing', weightPct: 20 });
  });

  it('weight 50 %: every user who was on the canary at 20 % still is; others join it, none leaves', async () => {
    expect(canaryUsersAt20.size).toBeGreaterThan(100);
    await setWeight(50);
    const stayed = await pool(canaryUsersAt20.size, 24, async (i) => claim(suite.gatewayUrls[i % 2], 'ga', [...canaryUsersAt20][i]));
    expect(stayed.filter((c) => c.release !== 'canary-1')).toEqual([]);
    const others = users.filter((u) => !canaryUsersAt20.has(u)).slice(0, 400);
    const moved = await pool(others.length, 24, async (i) => claim(suite.gatewayUrls[i % 2], 'ga', others[i]));
    const movedShare = moved.filter((c) => c.release === 'canary-1').length / others.length;
    // (50 - 20) / 80 = 37.5 % of the stable users join the canary.
    expect(movedShare).toBeGreaterThan(0.3);
    expect(movedShare).toBeLessThan(0.45);
    expect((await delivery(suite.gatewayUrls[0])).state).toBe('progressing');
    const audit = await admin('GET', '/admin/audit?limit=50');
    expect(audit.body.entries.filter((e: { action: string }) => e.action === 'release.rollback')).toEqual([]);
  });

  it('a canary whose provider refuses one activity\'s gift only is rolled back within 60 s while global success stays ≥ 99 %, audited with the activity', async () => {
    await setFaults(suite.providerUrl, { refuse: { giftIds: ['gb'], release: 'canary-1' } });
    await setWeight(20);
    const startedMs = Date.now();
    const calls: Claimed[] = [];
    let rolledBackAtMs: number | undefined;
    const watcher = (async () => {
      while (rolledBackAtMs === undefined && Date.now() - startedMs < 70_000) {
        if ((await delivery(suite.gatewayUrls[1])).state === 'rolled-back') rolledBackAtMs = Date.now();
        else await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let n = 0;
    // One claim in 40 is of act-b's gift (2.5 %): at 20 % weight 0.5 % of all claims fail, from random users.
    await Promise.all(Array.from({ length: 24 }, async () => {
      while (rolledBackAtMs === undefined && Date.now() - startedMs < 70_000) {
        const i = n++;
        calls.push(await claim(suite.gatewayUrls[i % 2], i % 40 === 0 ? 'gb' : 'ga', `load-${Math.floor(Math.random() * 5_000)}`));
      }
    }));
    await watcher;
    expect(rolledBackAtMs).toBeDefined();
    const seconds = (rolledBackAtMs! - startedMs) / 1_000;
    const onCanary = calls.filter((c) => c.release === 'canary-1').length;
    // Global success of the claims delivery served (a shed claim was repeated until served).
    const served = calls.filter((c) => c.release !== null);
    const failed = served.filter((c) => !isAccepted(c));
    const successRate = 1 - failed.length / served.length;
    const unserved = calls.filter((c) => c.release === null);
    process.stdout.write(
      `gray-release: rolled back after ${seconds.toFixed(1)} s, ${calls.length} claims, ${onCanary} on the canary, global success ${(successRate * 100).toFixed(2)} % ` +
        `(${failed.length} failed: ${failed.filter((c) => c.release === 'canary-1').length} on the canary), ${unserved.length} not served, ${shed} 503s repeated\n`,
    );
    expect(unserved.filter((c) => c.status !== 503)).toEqual([]);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(onCanary).toBeGreaterThanOrEqual(200);
    expect(successRate).toBeGreaterThanOrEqual(0.99);

    const d = await delivery(suite.gatewayUrls[0]);
    expect(d).toMatchObject({ state: 'rolled-back', weightPct: 0, canary: 'canary-1', rollback: { comparison: { verdict: 'worse-success' } } });
    expect(['activity:act-b', `provider:${suite.providerUrl}`]).toContain(`${d.rollback.comparison.kind}:${d.rollback.comparison.id}`);
    const audit = await admin('GET', '/admin/audit?limit=50');
    const rollbacks = audit.body.entries.filter((e: { action: string }) => e.action === 'release.rollback');
    expect(rollbacks).toHaveLength(1); // two gateways judged; one stored the rollback
    expect(rollbacks[0]).toMatchObject({ actor: 'release-judge', target: 'delivery', reason: expect.stringContaining('act-b') });
    // On /metrics: one rollback across both gateways, and the weight at 0.
    const scraped = await Promise.all(suite.gatewayUrls.map(async (gw) => (await http('GET', `${gw}/metrics`)).text));
    /** The value of the series of `name` whose labels include all of `labels` (label order does not matter), else NaN. */
    const sample = (text: string, name: string, labels: string[]) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
    };
    expect(scraped.map((text) => sample(text, 'rampart_release_rollbacks_total', ['service="delivery"'])).reduce((x, y) => x + y, 0)).toBe(1);
    expect(sample(scraped[0], 'rampart_release_weight_pct', ['service="delivery"', 'canary="canary-1"', 'state="rolled-back"'])).toBe(0);

    // Rolled back: every user is on stable again, through both gateways.
    const after = await pool(40, 8, async (i) => claim(suite.gatewayUrls[i % 2], 'ga', [...canaryUsersAt20][i]));
    expect(after.map((c) => c.release)).toEqual(new Array(40).fill('stable'));
  });

  it('the dashboard shows the rollout, its releases, the per-activity comparison and the rollback reason', async () => {
    const binary = await findChromium();
    const browser = await chromium.launch({ executablePath: binary.executablePath, args: binary.args, headless: true });
    try {
      const page = await browser.newPage();
      await page.goto(`${suite.gatewayUrls[0]}/admin/`);
      await page.fill('#actor', 'release.op');
      await page.fill('#token', suite.adminToken);
      await page.click('#login-form button');
      await page.waitForSelector('[data-release-rollback="delivery"]');
      expect(await page.locator('[data-release-state="delivery"]').textContent()).toBe('rolled-back');
      expect(await page.locator('[data-release-rollback="delivery"]').textContent()).toMatch(/worse-success/);
      expect(await page.locator('#releases').textContent()).toMatch(/canary-1/);
    } finally {
      await browser.close();
    }
  });

  it('promote makes the canary the stable release; the admin API validates and audits', async () => {
    expect((await admin('PUT', '/admin/releases/delivery', { body: { canary: 'canary-1', weightPct: 101, reason: 'x' } })).status).toBe(400);
    expect((await admin('PUT', '/admin/releases/delivery', { body: { canary: 'bad label!', weightPct: 5, reason: 'x' } })).status).toBe(400);
    expect((await admin('PUT', '/admin/releases/nope', { body: { canary: 'canary-1', weightPct: 5, reason: 'x' } })).status).toBe(404);
    expect((await admin('POST', '/admin/releases/delivery/promote', { body: {} })).status).toBe(409); // rolled back: nothing in progress
    // A new rollout with a schedule: 10 %, then 30 % once 10 s passed and a judgement was clean.
    const scheduled = await admin('PUT', '/admin/releases/delivery', { body: { canary: 'canary-1', weightPct: 10, reason: 'fixed', steps: [{ weightPct: 30, afterS: 10 }] } });
    expect(scheduled.status).toBe(200);
    expect(scheduled.body).toMatchObject({ state: 'progressing', weightPct: 10, steps: [{ weightPct: 30, afterS: 10 }] });
    const startedMs = Date.now();
    let isStepped = false;
    await Promise.all([
      ...Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !isStepped && Date.now() - startedMs < 45_000; i++) await claim(suite.gatewayUrls[(i + w) % 2], 'ga', users[(i * 8 + w) % users.length]);
      }),
      waitFor(async () => (isStepped = (await Promise.all(suite.gatewayUrls.map(delivery))).every((d) => d.weightPct === 30)), { timeoutMs: 45_000, intervalMs: 500, what: 'the scheduled step to 30 %' }),
    ]);
    process.stdout.write(`gray-release: scheduled step 10 % -> 30 % taken ${((Date.now() - startedMs) / 1_000).toFixed(1)} s after the PUT\n`);
    expect((await admin('GET', '/admin/audit?limit=50')).body.entries.filter((e: { action: string }) => e.action === 'release.step')).toHaveLength(1);
    const promoted = await admin('POST', '/admin/releases/delivery/promote', { body: { reason: 'fixed and clean' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ state: 'promoted', stable: 'canary-1', weightPct: 0 });
    await waitFor(async () => (await Promise.all(suite.gatewayUrls.map(delivery))).every((d) => d.stable === 'canary-1'), { timeoutMs: 5_000, what: 'promotion on both gateways' });
    const after = await pool(20, 4, async (i) => claim(suite.gatewayUrls[i % 2], 'ga', users[i]));
    expect(after.map((c) => c.release)).toEqual(new Array(20).fill('canary-1'));
    const audit = await admin('GET', '/admin/audit?limit=50');
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['release.set', 'release.promote']));
  });
});
