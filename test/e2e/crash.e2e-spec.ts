import { randomUUID } from 'node:crypto';
import { http, type JsonResponse } from '../support/http.js';
import { claimUntilAnswered, providerStats, setFaults, waitForOrderStatus } from '../support/orders.js';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';
import { spawnApp } from '../support/spawn-app.js';
import { demoActivity, startProviderWithoutOrderNumbers, startSuite, type Suite } from '../support/suite.js';
import { waitFor } from '../support/wait-for.js';

jest.setTimeout(120_000);

const serviceEnv = {
  PROVIDER_TIMEOUT_MS: '1000',
  QUEUE_LOCK_MS: '2000',
  QUEUE_BACKOFF_BASE_MS: '100',
  QUEUE_BACKOFF_MAX_MS: '1000',
  QUEUE_ATTEMPTS: '30',
  SWEEP_INTERVAL_MS: '500',
};

// Real crashes: a delivery instance SIGKILLed mid-run, and Redis itself kill -9ed and restarted.
describe('crash safety', () => {
  describe('a delivery instance killed mid-run', () => {
    let suite: Suite;
    afterAll(async () => suite?.stop());

    it('delivers all 200 async claims exactly once after the instance is killed and restarted', async () => {
      suite = await startSuite({ deliveries: 2, deliveryEnv: serviceEnv, providerEnv: { FAULT_LATENCY_MS: '30' } });
      const gw = suite.gatewayUrls[0];
      const body = demoActivity(suite.providerUrl, [{ giftId: 'crash-g1', delivery: 'async', inventory: 500 }]);
      expect((await http('PUT', `${gw}/admin/activities/a-crash`, { token: suite.adminToken, body })).status).toBe(201);
      const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => suite.token(`crash-user-${i}`)));
      const keys = tokens.map(() => randomUUID());
      const url = `${gw}/api/gifts/crash-g1/claims`;
      const deadline = Date.now() + 60_000;

      const victim = suite.deliveries[0];
      const victimPort = suite.deliveryTcpPorts[0];
      let killed = false;
      const answers: Array<JsonResponse | undefined> = [];
      for (let batch = 0; batch < 200; batch += 20) {
        if (batch === 60) {
          victim.signal('SIGKILL');
          killed = true;
        }
        answers.push(...(await Promise.all(keys.slice(batch, batch + 20).map((key, i) => claimUntilAnswered(url, tokens[batch + i], key, deadline)))));
      }
      expect(killed).toBe(true);
      expect(answers.every((a) => a?.status === 202)).toBe(true);

      // Restart the killed instance on its address; its stalled jobs are recovered by BullMQ.
      await victim.exited;
      suite.deliveries[0] = await spawnApp('delivery', {
        REDIS_URL: suite.redisUrl, REDIS_PREFIX: suite.prefix, TCP_PORT: String(victimPort), HTTP_PORT: String(await freePort()), ...serviceEnv,
      }, { label: 'delivery-1-restarted' });

      for (const [i, key] of keys.entries()) await waitForOrderStatus(gw, tokens[i], key, ['delivered'], 60_000);
      const stats = await providerStats(suite.providerUrl);
      for (const key of keys) expect(stats.byOrder[key].deliveries).toBe(1);
      expect(stats.effectiveDeliveries).toBe(200);
      expect((await http('GET', `${gw}/api/gifts/crash-g1`, { token: tokens[0] })).body.remaining).toBe(300);
    });
  });

  describe('Redis killed with -9 and restarted', () => {
    let suite: Suite | undefined;
    let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    afterAll(async () => {
      await suite?.stop();
      await redis?.stop();
    });

    it('ends every order that got a 2xx delivered, and the apps reconnect by themselves', async () => {
      const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];
      redis = await startRedisServer({ args: durable });
      const { port, dir } = redis;
      suite = await startSuite({ redisUrl: redis.url, deliveryEnv: serviceEnv, providerEnv: { FAULT_LATENCY_MS: '20' } });
      const gw = suite.gatewayUrls[0];
      const body = demoActivity(suite.providerUrl, [{ giftId: 'aof-g1', delivery: 'async', inventory: 500 }]);
      expect((await http('PUT', `${gw}/admin/activities/a-aof`, { token: suite.adminToken, body })).status).toBe(201);
      const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => suite!.token(`aof-user-${i}`)));
      const keys = tokens.map(() => randomUUID());

      // 100 claims in flight; Redis is killed while they run.
      const inFlight = keys.map((key, i) =>
        new Promise((r) => setTimeout(r, i * 5)).then(() =>
          http('POST', `${gw}/api/gifts/aof-g1/claims`, { token: tokens[i], headers: { 'idempotency-key': key }, body: {}, timeoutMs: 10_000 }).catch(() => undefined),
        ),
      );
      await new Promise((r) => setTimeout(r, 150));
      redis.child.kill('SIGKILL');
      await new Promise((r) => redis!.child.once('exit', r));
      const answers = await Promise.all(inFlight);
      redis = await startRedisServer({ port, dir, args: durable });

      // Every app is ready again within 15 s, without a restart.
      const readyUrls = [`${gw}/health/ready`];
      for (const app of [...suite.queries, ...suite.deliveries]) {
        const line = app.logs.find((l) => l.includes('"event":"app.ready"'))!;
        readyUrls.push(`http://127.0.0.1:${JSON.parse(line).httpPort}/health/ready`);
      }
      await waitFor(async () => (await Promise.all(readyUrls.map((u) => http('GET', u).then((r) => r.status === 200, () => false)))).every(Boolean), {
        timeoutMs: 15_000, what: 'every app to be ready again',
      });

      const accepted = keys.filter((_, i) => answers[i] && answers[i]!.status >= 200 && answers[i]!.status < 300);
      expect(accepted.length).toBeGreaterThan(0);
      for (const key of accepted) {
        const i = keys.indexOf(key);
        await waitForOrderStatus(gw, tokens[i], key, ['delivered'], 60_000);
      }
      const stats = await providerStats(suite.providerUrl);
      for (const key of accepted) expect(stats.byOrder[key].deliveries).toBe(1);
    });
  });

  // A job's take records its send with it (one round trip less); a job that then has to wait for a
  // slot of its provider's bulkhead clears that record first. Killed while waiting, its order was
  // never sent and is delivered after the recovery, where the call that was under way is uncertain.
  describe('a delivery instance killed while calls wait for a provider slot', () => {
    let suite: Suite | undefined;
    let provider: Awaited<ReturnType<typeof startProviderWithoutOrderNumbers>> | undefined;
    afterAll(async () => {
      await suite?.stop();
      await provider?.app.stop();
    });

    it('re-sends the orders whose calls waited and leaves only the call under way uncertain', async () => {
      provider = await startProviderWithoutOrderNumbers();
      await setFaults(provider.url, { latencyMs: 4_000 });
      suite = await startSuite({
        deliveryEnv: { ...serviceEnv, PROVIDER_MAX_CONCURRENT: '1', PROVIDER_MAX_QUEUED: '8', PROVIDER_TIMEOUT_MS: '8000', ATTEMPT_LEASE_MS: '1500' },
      });
      const gw = suite.gatewayUrls[0];
      const body = demoActivity(provider.url, [{ giftId: 'slot-g1', delivery: 'async', provider: { url: provider.url, orderNumbers: false } }]);
      expect((await http('PUT', `${gw}/admin/activities/a-slot`, { token: suite.adminToken, body })).status).toBe(201);
      const tokens = await Promise.all([0, 1, 2].map((i) => suite!.token(`slot-user-${i}`)));
      const keys: string[] = tokens.map(() => randomUUID());
      const deadline = Date.now() + 20_000;
      for (const [i, key] of keys.entries()) expect((await claimUntilAnswered(`${gw}/api/gifts/slot-g1/claims`, tokens[i], key, deadline))?.status).toBe(202);

      // One call is under way at the provider (4 s), the other two jobs wait for the one slot.
      await waitFor(async () => (await providerStats(provider!.url)).calls === 1, { timeoutMs: 15_000, what: 'the first call at the provider' });
      await new Promise((r) => setTimeout(r, 500));
      const underWay = Object.keys((await providerStats(provider.url)).byOrder);
      expect(underWay).toHaveLength(1);
      suite.deliveries[0].signal('SIGKILL');
      await setFaults(provider.url, { latencyMs: 0 });
      await suite.restartDelivery(0);

      const waited = keys.filter((key) => key !== underWay[0]);
      const sent = keys.indexOf(underWay[0]);
      expect(sent).toBeGreaterThanOrEqual(0);
      expect((await waitForOrderStatus(gw, tokens[sent], underWay[0], ['uncertain'], 30_000)).status).toBe('uncertain');
      for (const key of waited) await waitForOrderStatus(gw, tokens[keys.indexOf(key)], key, ['delivered'], 30_000);
      const stats = await providerStats(provider.url);
      for (const key of waited) expect(stats.byOrder[key]).toMatchObject({ calls: 1, deliveries: 1 });
      expect(stats.byOrder[underWay[0]].calls).toBe(1);
    });
  });
});
