import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceShedFlag } from '@app/contracts';
import { http } from '../support/http.js';
import { providerStats, setFaults, waitForOrderStatus } from '../support/orders.js';
import { demoActivity, type Suite, type SuiteOptions } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The deployment both failover tests run: two gateways and two delivery instances, quick queue
 * retries and sweeps, and a slow-class timeout long enough for a claim to ride out the Redis
 * client's retry window during the failover (rate limit off: the test repeats claims on purpose).
 */
export function failoverSuiteOptions(redisUrl: string, prefix?: string): SuiteOptions {
  return {
    redisUrl,
    prefix,
    gateways: 2,
    deliveries: 2,
    deliveryEnv: { QUEUE_BACKOFF_BASE_MS: '200', QUEUE_BACKOFF_MAX_MS: '1000', SWEEP_INTERVAL_MS: '500', QUEUE_LOCK_MS: '5000' },
    gatewayEnv: { TIMEOUT_SLOW_MS: '8000', CLAIM_RATE_LIMIT_PER_S: '0' },
  };
}

/** How a Redis master is taken down and how the test knows its replica took over. */
export interface MasterFailure {
  /** Waits until the replica has everything written so far (see {@link claimsAcrossMasterFailure}). */
  waitReplicated(): Promise<void>;
  /** SIGKILLs the master. */
  kill(): Promise<void>;
  /** Resolves once the replica serves as master again. */
  waitRecovered(): Promise<void>;
}

export interface FailoverSummary {
  claims: number;
  failedThenRepeated: number;
  recoveredAfterMs: number;
  slowestClaimMs: number;
}

/**
 * The failover scenario shared by Redis Cluster and Sentinel: an async gift (provider slowed to
 * 50 ms so jobs are in flight), 80 claims through two gateways, 4 at a time; after the 20th was
 * answered and replicated, the master is SIGKILLed while the claims go on. Once the replica took
 * over, a client repeats what failed with the same key (after a pause: the gateway may answer 503
 * with Retry-After while its breaker lets the delivery service recover). Then every claim must have
 * got a 2xx and ended `delivered` exactly once, nothing else delivered, the gift's count must
 * match the deliveries, and a flag set through one gateway must reach the other within a second.
 *
 * (Replication is asynchronous: a write acknowledged in the last moment before a master dies can be
 * lost with it, Redis's documented limit, see the README. The test checks that everything the
 * replica had survives and that the apps recover.)
 */
export async function claimsAcrossMasterFailure(suite: Suite, giftId: string, failure: MasterFailure): Promise<FailoverSummary> {
  const [gw, gw2] = suite.gatewayUrls;
  const published = await http('PUT', `${gw}/admin/activities/fo-${giftId}`, {
    token: suite.adminToken,
    body: demoActivity(suite.providerUrl, [{ giftId, inventory: 10_000, delivery: 'async' }]),
  });
  expect(published.status).toBeLessThan(300);
  await setFaults(suite.providerUrl, { latencyMs: 50 });

  const total = 80;
  const orderIds: string[] = Array.from({ length: total }, () => randomUUID());
  const tokens = new Map<string, string>();
  const tokenOf = async (i: number) => {
    const userId = `fo-user-${i}`;
    const token = tokens.get(userId) ?? (await suite.token(userId));
    tokens.set(userId, token);
    return token;
  };
  const accepted = new Set<string>();
  const failed = new Set<string>();
  let slowestMs = 0;
  const claim = async (i: number) => {
    const orderId = orderIds[i];
    const t0 = performance.now();
    try {
      const res = await http('POST', `${i % 2 ? gw : gw2}/api/gifts/${giftId}/claims`, {
        token: await tokenOf(i), headers: { 'idempotency-key': orderId }, body: {}, timeoutMs: 15_000,
      });
      if (res.status >= 200 && res.status < 300) {
        expect(res.body.orderId).toBe(orderId);
        accepted.add(orderId);
        failed.delete(orderId);
      } else failed.add(orderId);
    } catch {
      failed.add(orderId);
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - t0);
    }
  };

  let killed: Promise<void> | undefined;
  let killedAt = 0;
  for (let i = 0; i < total; i += 4) {
    if (i === 20) {
      await failure.waitReplicated();
      killed = failure.kill();
      killedAt = Date.now();
    }
    await Promise.all([0, 1, 2, 3].map((j) => claim(i + j)));
  }
  await killed;
  await failure.waitRecovered();
  const recoveredAfterMs = Date.now() - killedAt;

  const failedThenRepeated = failed.size;
  const repeatUntil = Date.now() + 30_000;
  while (failed.size && Date.now() < repeatUntil) {
    for (const id of [...failed]) await claim(orderIds.indexOf(id));
    if (failed.size) await new Promise((r) => setTimeout(r, 1_000));
  }
  expect([...failed]).toEqual([]);
  expect(accepted.size).toBe(total);

  await waitFor(async () => {
    const stats = await providerStats(suite.providerUrl);
    return orderIds.every((id) => stats.byOrder[id]?.deliveries === 1);
  }, { timeoutMs: 60_000, intervalMs: 250, what: `${total} accepted orders delivered` });
  const stats = await providerStats(suite.providerUrl);
  for (const id of orderIds) expect(stats.byOrder[id]?.deliveries).toBe(1);
  // Nothing was delivered twice, and nothing was delivered that is not one of our orders.
  expect(Object.values(stats.byOrder).every((o) => o.deliveries <= 1)).toBe(true);
  expect(Object.entries(stats.byOrder).filter(([id, o]) => o.deliveries > 0 && !orderIds.includes(id))).toEqual([]);
  for (const [i, id] of orderIds.entries()) await waitForOrderStatus(gw, await tokenOf(i), id, ['delivered'], 20_000);
  // The gift counts one reservation per delivered order: none lost, none doubled.
  const gift = await http('GET', `${gw}/api/gifts/${giftId}`, { token: await tokenOf(0) });
  expect(gift.body.remaining).toBe(10_000 - total);

  // Flags still reach every gateway: their subscriptions followed the failover. Set through one
  // gateway, the other must shed reads within a second, and serve again after.
  const setShed = (enabled: boolean) =>
    http('PUT', `${gw}/admin/flags/${serviceShedFlag('query')}`, { token: suite.adminToken, body: { enabled, reason: 'failover e2e' } });
  const readStatus = async () => (await http('GET', `${gw2}/api/gifts/${giftId}`, { token: await tokenOf(0) })).status;
  expect((await setShed(true)).status).toBe(200);
  await waitFor(async () => (await readStatus()) === 503, { timeoutMs: 1_000, intervalMs: 20, what: 'the other gateway to shed reads' });
  expect((await setShed(false)).status).toBe(200);
  await waitFor(async () => (await readStatus()) === 200, { timeoutMs: 1_000, intervalMs: 20, what: 'the other gateway to serve reads again' });
  return { claims: total, failedThenRepeated, recoveredAfterMs, slowestClaimMs: Math.round(slowestMs) };
}

/** Writes every process's full output to a temp dir (a failure may only show under load) and prints where. */
export function saveSuiteLogs(suite: Suite, label: string): void {
  const dir = join(tmpdir(), `rampart-${label}-${suite.prefix}`);
  mkdirSync(dir, { recursive: true });
  for (const app of [...suite.gateways, ...suite.deliveries, ...suite.queries]) writeFileSync(join(dir, `${app.name}.log`), app.logs.join('\n'));
  console.log(`${label} test failed: process logs in ${dir}\n${suite.logs()}`);
}
