import { randomUUID } from 'node:crypto';
import { http } from '../support/http.js';
import { providerStats, setFaults, waitForOrderStatus } from '../support/orders.js';
import { startRedisCluster, type LocalRedisCluster } from '../support/redis-cluster.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(180_000);

// Failover under load: 3 masters + 3 replicas (cluster-node-timeout 2000). While async claims
// flow, the master that owns the gift's slot is killed with SIGKILL; its replica takes over. Every
// claim that got a 2xx must end delivered exactly once; claims that failed during the failover
// may be repeated with the same key (what a client does) and then also end delivered once.
describe('Redis Cluster failover during async claims (3 masters + 3 replicas)', () => {
  let cluster: LocalRedisCluster;
  let suite: Suite;
  let gw: string;
  let gw2: string;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2_000 });
    suite = await startSuite({
      redisUrl: cluster.url,
      gateways: 2,
      deliveries: 2,
      deliveryEnv: { QUEUE_BACKOFF_BASE_MS: '200', QUEUE_BACKOFF_MAX_MS: '1000', SWEEP_INTERVAL_MS: '500', QUEUE_LOCK_MS: '5000' },
      // Claims during the failover may take the whole retry window of the cluster client.
      gatewayEnv: { TIMEOUT_SLOW_MS: '8000', CLAIM_RATE_LIMIT_PER_S: '0' },
    });
    [gw, gw2] = suite.gatewayUrls;
  });
  afterAll(async () => {
    await suite?.stop();
    await cluster?.stop();
  });

  it('delivers every 2xx order exactly once after the gift slot\'s master is killed', async () => {
    const published = await http('PUT', `${gw}/admin/activities/fo-a1`, {
      token: suite.adminToken,
      body: demoActivity(suite.providerUrl, [{ giftId: 'fo-g1', inventory: 10_000, delivery: 'async' }]),
    });
    expect(published.status).toBeLessThan(300);
    // A slow provider keeps jobs in flight while the master dies.
    await setFaults(suite.providerUrl, { latencyMs: 50 });

    const giftKey = `${suite.prefix}:{g:fo-g1}:gift`;
    const before = await cluster.masterOf(giftKey);

    const total = 80;
    const tokens = new Map<string, string>();
    const accepted = new Set<string>();
    const failed = new Set<string>();
    const claim = async (i: number, orderId: string) => {
      const userId = `fo-user-${i}`;
      const token = tokens.get(userId) ?? (await suite.token(userId));
      tokens.set(userId, token);
      const t0 = performance.now();
      try {
        const res = await http('POST', `${i % 2 ? gw : gw2}/api/gifts/fo-g1/claims`, { token, headers: { 'idempotency-key': orderId }, body: {}, timeoutMs: 15_000 });
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
    let slowestMs = 0;

    // 80 claims, 4 at a time; the master is killed after the 20th was sent.
    const orderIds: string[] = Array.from({ length: total }, () => randomUUID());
    let killed: Promise<void> | undefined;
    let killedAt = 0;
    for (let i = 0; i < total; i += 4) {
      if (i === 20) {
        killed = cluster.kill(before.port);
        killedAt = Date.now();
      }
      await Promise.all(orderIds.slice(i, i + 4).map((id, j) => claim(i + j, id)));
    }
    await killed;

    // The replica took over: the slot has a new live master and every slot is served again.
    await cluster.waitHealthy(30_000);
    const healthyAfterMs = Date.now() - killedAt;
    const after = await cluster.masterOf(giftKey);
    expect(after.slot).toBe(before.slot);
    expect(after.port).not.toBe(before.port);

    // A client repeats what failed, with the same key: it ends in one order too.
    for (const id of [...failed]) await claim(orderIds.indexOf(id), id);
    for (const id of [...failed]) await claim(orderIds.indexOf(id), id);

    expect(accepted.size).toBeGreaterThanOrEqual(total - failed.size);
    await waitFor(async () => {
      const stats = await providerStats(suite.providerUrl);
      return [...accepted].every((id) => stats.byOrder[id]?.deliveries === 1);
    }, { timeoutMs: 60_000, intervalMs: 250, what: `${accepted.size} accepted orders delivered` });
    const stats = await providerStats(suite.providerUrl);
    for (const id of accepted) expect(stats.byOrder[id]?.deliveries).toBe(1);
    // Nothing was delivered twice, and nothing was delivered that is not one of our orders.
    expect(Object.values(stats.byOrder).every((o) => o.deliveries <= 1)).toBe(true);
    for (const id of accepted) {
      const i = orderIds.indexOf(id);
      await waitForOrderStatus(gw, tokens.get(`fo-user-${i}`)!, id, ['delivered'], 20_000);
    }
    // The gift counts one reservation per delivered order: none lost, none doubled.
    const gift = await http('GET', `${gw}/api/gifts/fo-g1`, { token: tokens.get('fo-user-0')! });
    expect(gift.body.remaining).toBe(10_000 - Object.values(stats.byOrder).filter((o) => o.deliveries === 1).length);
    console.log(JSON.stringify({ event: 'failover.summary', claims: total, accepted: accepted.size, failedThenRepeated: total - accepted.size, killedPort: before.port, healthyAfterMs, slowestClaimMs: Math.round(slowestMs), newMasterPort: after.port, slot: before.slot }));
  });
});
