import { randomUUID } from 'node:crypto';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { Patterns, type ClaimGiftReply, type ClaimGiftRequest, type GiftView, type Reply } from '@app/contracts';
import { signServiceMessage } from '@app/platform';
import { http } from '../../test/support/http.js';
import { TEST_SERVICE_TOKEN } from '../../test/support/spawn-app.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { HttpCaller } from '../support/http-caller.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { runClosedLoop, runPacedLoop, type LoadCall } from '../support/loop-load.js';
import { cpuByKind, pidsNamed } from '../support/process-cpu.js';
import { fmtRate, fmtRatio, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';

/**
 * bench/claims: synchronous claims (reserve in Redis, provider call, delivered) through the gateway
 * (`POST /api/gifts/{id}/claims`) vs the delivery service called directly over TCP with a Nest
 * ClientTCP (`Patterns.ClaimGift`), same run, provider stub at 0 ms. Every claim has a fresh
 * Idempotency-Key; USERS users rotate, and the gift's inventory and per-user limit are far above
 * what a run can claim, so no claim is refused. The gateway's per-user claim rate limit
 * (`CLAIM_RATE_LIMIT_PER_S`, default 5) stays on, as in production: USERS is large enough that it
 * refuses nobody (with 500 users it capped the gateway side at 2,500 claims/s and answered the rest
 * 429). Success = `delivered` (HTTP 200).
 * Goal (issue 2): >= 3,000 claims/s on 2 cores. Printed, not asserted.
 */
const CONCURRENCY = 32;
const WARMUP_S = 3;
const MAX_S = 10;
const RATE = 500;
const RATE_S = 6;
const USERS = 20_000;
const GIFT_ID = 'bench-claim-g1';
const INVENTORY = 100_000_000;

runBench('claims', { deadlineS: 150 }, async (ctx) => {
  ctx.step('starting provider stub (0 ms), query, delivery, gateway');
  const suite = await ctx.startSuite({ providerEnv: { FAULT_LATENCY_MS: '0' } });
  await publishActivity(suite, 'bench-claims', [{ giftId: GIFT_ID, inventory: INVENTORY, perUserLimit: INVENTORY }]);
  const authorizations = await userAuthHeaders(suite, 'bench-user', USERS);
  const run = randomUUID().slice(0, 8);
  let seq = 0;
  // Order ids unique per claim and per run; the user rotates with them.
  const next = (): { orderId: string; user: number } => ({ orderId: `b-${run}-${++seq}`, user: seq % USERS });

  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: suite.deliveryTcpPorts[0] } });
  await client.connect();
  ctx.defer(() => client.close());
  const direct: LoadCall = async () => {
    const { orderId, user } = next();
    const request: ClaimGiftRequest = { meta: { requestId: orderId }, giftId: GIFT_ID, userId: `bench-user-${user}`, orderId };
    // Signed as the gateway signs it: the HMAC is part of the hop's cost on both sides.
    const message = signServiceMessage(TEST_SERVICE_TOKEN, Patterns.ClaimGift, request);
    const reply = await firstValueFrom(client.send<Reply<ClaimGiftReply>>(Patterns.ClaimGift, message).pipe(timeout(10_000)));
    if (!reply.ok) return reply.error.code;
    return reply.value.status === 'delivered' || reply.value.status;
  };
  const path = `/api/gifts/${GIFT_ID}/claims`;
  const viaGateway = (durationS: number): Promise<LoadResult> =>
    runHttpLoad({
      origin: suite.gatewayUrls[0],
      path,
      method: 'POST',
      connections: CONCURRENCY,
      durationS,
      isOk: (status) => status === 200,
      setupRequest: (request) => {
        const { orderId, user } = next();
        return { ...request, headers: { authorization: authorizations[user], 'idempotency-key': orderId } };
      },
    });

  ctx.step(`warm-up ${WARMUP_S} s each`);
  await viaGateway(WARMUP_S);
  await runClosedLoop({ concurrency: CONCURRENCY, durationS: WARMUP_S, call: direct });
  ctx.step(`max for ${MAX_S} s each, ${CONCURRENCY} in flight`);
  // CPU of each kind of process over each max run (redis: every redis-server on the machine).
  const cpuNow = () =>
    cpuByKind([
      ['gateway', suite.gateways.map((a) => a.pid)], ['delivery', suite.deliveries.map((a) => a.pid)], ['query', suite.queries.map((a) => a.pid)],
      ['provider stub', [suite.provider.pid]], ['redis', pidsNamed('redis-server')],
    ]);
  const cpuPerClaim = async (run: () => Promise<LoadResult>): Promise<[LoadResult, Record<string, number>]> => {
    const before = cpuNow();
    const result = await run();
    const after = cpuNow();
    return [result, Object.fromEntries(Object.keys(after).map((kind) => [kind, ((after[kind]! - before[kind]!) * 1000) / Math.max(1, result.ok)]))];
  };
  const [maxGateway, gatewayCpu] = await cpuPerClaim(() => viaGateway(MAX_S));
  const [maxDirect, directCpu] = await cpuPerClaim(() => runClosedLoop({ concurrency: CONCURRENCY, durationS: MAX_S, call: direct }));
  ctx.step(`${RATE} claims/s for ${RATE_S} s each`);
  const caller = new HttpCaller(suite.gatewayUrls[0], 64);
  ctx.defer(() => caller.close());
  const pacedGateway = await runPacedLoop({
    ratePerS: RATE,
    durationS: RATE_S,
    maxInFlight: 256,
    call: async () => {
      const { orderId, user } = next();
      const status = await caller.status({ method: 'POST', path, headers: { authorization: authorizations[user], 'idempotency-key': orderId } });
      return status === 200 || String(status);
    },
  });
  const pacedDirect = await runPacedLoop({ ratePerS: RATE, durationS: RATE_S, maxInFlight: 256, call: direct });

  // Cross-check with storage: every delivered claim took one unit of inventory.
  const gift = (await http('GET', `${suite.gatewayUrls[0]}/api/gifts/${GIFT_ID}`, { headers: { authorization: authorizations[0] } })).body as GiftView;
  printTable(`POST ${path} (sync delivery, provider stub at 0 ms)`, RESULT_HEADER, [
    resultRow('HTTP -> gateway -> TCP -> delivery', `max, ${CONCURRENCY} conns`, maxGateway),
    resultRow('TCP -> delivery (ClientTCP)', `max, ${CONCURRENCY} in flight`, maxDirect),
    resultRow('HTTP -> gateway -> TCP -> delivery', `${RATE}/s paced`, pacedGateway),
    resultRow('TCP -> delivery (ClientTCP)', `${RATE}/s paced`, pacedDirect),
  ]);
  const kinds = Object.keys(gatewayCpu);
  const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, us) => sum + us, 0);
  const us = (n: number | undefined) => Math.round(n ?? 0).toLocaleString('en-US');
  printTable(
    'CPU per delivered claim over each max run (µs, /proc; redis: every redis-server on the machine)',
    ['path', ...kinds, 'all'],
    [
      ['through the gateway', ...kinds.map((k) => us(gatewayCpu[k])), us(total(gatewayCpu))],
      ['direct', ...kinds.map((k) => us(directCpu[k])), us(total(directCpu))],
    ],
  );
  console.log('');
  console.log(`claims/s through the gateway: ${fmtRate(maxGateway.okPerS)}  (goal >= 3,000: ${verdict(maxGateway.okPerS >= 3_000)})`);
  console.log(`gateway / direct claims/s: ${fmtRatio(maxGateway.okPerS / maxDirect.okPerS)}`);
  console.log(`inventory taken: ${(INVENTORY - gift.remaining).toLocaleString('en-US')} units for ${seq.toLocaleString('en-US')} claims sent (warm-up included)`);
  console.log('Load generator, apps, provider stub and Redis share the same cores; compare figures of one run only.');
});
