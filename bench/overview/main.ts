import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { http } from '../../test/support/http.js';
import { loadGatewayConfig } from '../../apps/gateway/src/config/gateway.config.js';
import { defaultConnections } from '../../apps/gateway/src/gateway.connections.js';
import { OverviewLoader } from '../../apps/gateway/src/overview/overview.loader.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity } from '../support/fixtures.js';
import { LatencyRecorder } from '../support/latency-recorder.js';
import { fmtMs, printTable } from '../support/report.js';

/**
 * bench/overview: latency of `GET /api/me/overview` composed by the loader (activities, orders and
 * recommendations in parallel, then eligibility) vs the same calls made one after another (the
 * same graph with `maxConcurrent: 1`), side by side, at 0 ms and 20 ms added query latency
 * (`FAULT_DELAY_MS` on query, one suite per setting).
 *
 * Both modes run in this process over the gateway's own upstream client (`defaultConnections`,
 * TCP to the suite's query), alternating request by request, one request at a time: latency, not
 * throughput. The HTTP row is the whole overview through the gateway process, for reference.
 * Expected: parallel ~ one call, serial ~ three calls. Printed, not asserted.
 */
const DELAYS_MS = [0, 20];
const WARMUP = 30;
const ROUNDS = 300;
const HTTP_ROUNDS = 200;
const USER = 'bench-overview-user';

runBench('overview', { deadlineS: 300 }, async (ctx) => {
  Logger.overrideLogger(['error', 'warn']);
  const rows: string[][] = [];
  const summary: string[] = [];
  for (const delayMs of DELAYS_MS) {
    ctx.step(`query +${delayMs} ms: starting provider stub, query, delivery, gateway`);
    const suite = await ctx.startSuite({ env: { FAULT_DELAY_MS: String(delayMs) } });
    await publishActivity(suite, 'bench-ov', Array.from({ length: 6 }, (_, i) => ({ giftId: `bench-ov-g${i + 1}`, perUserLimit: 2 })));
    const token = await suite.token(USER);
    for (const giftId of ['bench-ov-g1', 'bench-ov-g2', 'bench-ov-g3']) {
      const res = await http('POST', `${suite.gatewayUrls[0]}/api/gifts/${giftId}/claims`, { token, headers: { 'idempotency-key': randomUUID() }, body: {} });
      if (res.status !== 200) throw new Error(`claim ${giftId}: ${res.status} ${res.text}`);
    }

    const config = loadGatewayConfig({
      REDIS_URL: suite.redisUrl,
      REDIS_PREFIX: suite.prefix,
      QUERY_UPSTREAMS: suite.queryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      DELIVERY_UPSTREAMS: suite.deliveryTcpPorts.map((p) => `127.0.0.1:${p}`).join(','),
      DISCOVERY_ENABLED: 'false',
      JWT_SECRET: suite.jwtSecret,
      ADMIN_TOKEN: suite.adminToken,
    });
    const query = defaultConnections(config).upstream('query', config.queryUpstreams);
    const loader = new OverviewLoader(query, config);
    const modes = { loader: {}, serial: { maxConcurrent: 1 } } as const;
    const recorders = { loader: new LatencyRecorder(), serial: new LatencyRecorder() };
    const degraded = { loader: 0, serial: 0 };

    ctx.step(`query +${delayMs} ms: ${WARMUP} warm-up, then ${ROUNDS} overviews per mode, alternating`);
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      for (const mode of i % 2 ? (['serial', 'loader'] as const) : (['loader', 'serial'] as const)) {
        const startedMs = performance.now();
        const overview = await loader.load(USER, `bench-${mode}-${i}`, modes[mode]);
        if (i < WARMUP) continue;
        recorders[mode].record(performance.now() - startedMs);
        if (overview.degraded.length) degraded[mode]++;
      }
    }
    await query.close();

    ctx.step(`query +${delayMs} ms: ${HTTP_ROUNDS} overviews through the gateway (HTTP)`);
    const httpRecorder = new LatencyRecorder();
    for (let i = 0; i < WARMUP + HTTP_ROUNDS; i++) {
      const startedMs = performance.now();
      const res = await http('GET', `${suite.gatewayUrls[0]}/api/me/overview`, { token });
      if (res.status !== 200) throw new Error(`overview answered ${res.status} ${res.text}`);
      if (i >= WARMUP) httpRecorder.record(performance.now() - startedMs);
    }

    const row = (name: string, r: LatencyRecorder, n: number, bad: number | string) => {
      const [p50, p90, p99] = r.percentiles(50, 90, 99);
      return [`+${delayMs} ms`, name, String(n), fmtMs(p50), fmtMs(p90), fmtMs(p99), String(bad)];
    };
    rows.push(
      row('loader (parallel), in-process', recorders.loader, ROUNDS, degraded.loader),
      row('one after another, in-process', recorders.serial, ROUNDS, degraded.serial),
      row('loader, HTTP through the gateway', httpRecorder, HTTP_ROUNDS, '-'),
    );
    const [loaderP50] = recorders.loader.percentiles(50);
    const [serialP50] = recorders.serial.percentiles(50);
    summary.push(`+${delayMs} ms: serial p50 / loader p50 = ${(serialP50 / loaderP50).toFixed(2)}x (saved ${fmtMs(serialP50 - loaderP50)} ms per overview)`);
  }

  printTable('GET /api/me/overview: 3 query calls (activities, orders, recommendations) + derived eligibility', ['added latency', 'mode', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'degraded'], rows);
  console.log('');
  for (const line of summary) console.log(line);
  console.log('Load generator, apps and Redis share the same cores; compare figures of one run only.');
});
