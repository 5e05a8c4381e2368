import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { http } from '../../test/support/http.js';
import { providerStats } from '../../test/support/orders.js';
import { startRedisServer } from '../../test/support/redis.js';
import { waitFor } from '../../test/support/wait-for.js';
import { runBench } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { printTable } from '../support/report.js';

/**
 * bench/redis-trips: the Redis round trips and commands one claim costs, counted, not timed (so
 * the figures do not depend on the machine's load). A deployment of 1 gateway, 1 query, 1 delivery
 * and the provider stub (0 ms) on a private redis-server; CLAIMS claims one after another (a new
 * user and Idempotency-Key each) of a sync gift and of an async gift (delivered by the queue), each
 * followed by a pause in which its delivery, archive write and report settle, all under `MONITOR`.
 *
 * A command sent by an app counts for a claim when it names the claim's order number, its user or
 * its gift's hash; commands run back to back from one connection (within 100 µs) are one round trip
 * (a pipeline); the commands a script runs are counted with the script. Split by when Redis ran
 * them: before the claim's HTTP answer (the claim's own latency) and after (queue job, archive,
 * reports). What names none of them (BullMQ's job fetch, the archiver's stream acknowledgements,
 * registry, flags, reconciler) is printed per second as background.
 * Printed, not asserted. `BENCH_CLAIMS` (default 20) claims per gift.
 */
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 20);
const SETTLE_MS = 1_500;

interface Tally {
  beforeTrips: number;
  afterTrips: number;
  before: number;
  beforeScripts: number;
  beforeInScripts: number;
  after: number;
  afterScripts: number;
  afterInScripts: number;
  byCommand: Map<string, number>;
}

runBench('redis-trips', { deadlineS: 300 }, async (ctx) => {
  ctx.step('starting a private redis-server, provider stub, query, delivery, gateway');
  const redisServer = await startRedisServer();
  ctx.defer(() => redisServer.stop());
  const suite = await ctx.startSuite({ redisUrl: redisServer.url, providerEnv: { FAULT_LATENCY_MS: '0' } });
  const gw = suite.gatewayUrls[0]!;
  await publishActivity(suite, 'bench-trips', [
    { giftId: 'trips-sync', inventory: 1_000_000 },
    { giftId: 'trips-async', inventory: 1_000_000, delivery: 'async' },
  ]);
  // Warm every connection and script cache: the first claims load scripts (EVAL) once per connection.
  for (const giftId of ['trips-sync', 'trips-async']) await claimAndSettle(gw, giftId, (await userAuthHeaders(suite, `warm-${giftId}`, 1))[0]!, `warm-${randomUUID()}`, suite.providerUrl);

  const monitor = new Redis(redisServer.url);
  ctx.defer(() => monitor.disconnect());
  const lines: { atMs: number; from: string; words: string[] }[] = [];
  const feed = await monitor.monitor();
  feed.on('monitor', (time: string, args: string[], source: string) => lines.push({ atMs: Number(time) * 1000, from: source, words: args }));
  ctx.defer(() => feed.disconnect());

  const results: Array<{ giftId: string; tally: Tally }> = [];
  let background = 0;
  let backgroundMs = 0;
  for (const giftId of ['trips-sync', 'trips-async']) {
    ctx.step(`${giftId}: ${CLAIMS} claims, one at a time`);
    const tally: Tally = { beforeTrips: 0, afterTrips: 0, before: 0, beforeScripts: 0, beforeInScripts: 0, after: 0, afterScripts: 0, afterInScripts: 0, byCommand: new Map() };
    const authorizations = await userAuthHeaders(suite, `trips-${giftId}-${randomUUID().slice(0, 6)}`, CLAIMS);
    for (let i = 0; i < CLAIMS; i++) {
      lines.length = 0;
      const startedMs = Date.now();
      const orderId = `trips-${randomUUID()}`;
      const userId = JSON.parse(Buffer.from(authorizations[i]!.split('.')[1]!, 'base64url').toString()).sub as string;
      const answeredMs = await claimAndSettle(gw, giftId, authorizations[i]!, orderId, suite.providerUrl);
      background += count(lines, orderId, userId, `:{g:${giftId}}:gift`, answeredMs, tally);
      backgroundMs += Date.now() - startedMs;
    }
    results.push({ giftId, tally });
  }

  const per = (n: number) => (n / CLAIMS).toFixed(1);
  printTable(
    `Redis per claim (${CLAIMS} claims each): what the apps sent naming the order, its user or its gift's hash, before and after the claim's answer`,
    ['gift', 'round trips before', 'commands sent', 'of which scripts', 'commands in scripts', 'round trips after', 'commands sent', 'of which scripts', 'commands in scripts'],
    results.map(({ giftId, tally: t }) => [
      giftId, per(t.beforeTrips), per(t.before), per(t.beforeScripts), per(t.beforeInScripts), per(t.afterTrips), per(t.after), per(t.afterScripts), per(t.afterInScripts),
    ]),
  );
  for (const { giftId, tally } of results) {
    console.log(`  ${giftId}, sent per claim by command: ${[...tally.byCommand].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${per(n)}`).join(', ')}`);
  }
  console.log(`  background (names no claim: BullMQ's fetch and markers, archiver acks, registry, flags, reconciler): ${((background * 1000) / backgroundMs).toFixed(0)} commands/s`);
});

/** Claims, waits for the provider to have delivered the order, then for the rest to settle; returns when the answer came (ms). */
async function claimAndSettle(gw: string, giftId: string, authorization: string, orderId: string, providerUrl: string): Promise<number> {
  const res = await http('POST', `${gw}/api/gifts/${giftId}/claims`, { headers: { authorization, 'idempotency-key': orderId }, body: {} });
  const answeredMs = Date.now();
  if (res.status !== 200 && res.status !== 202) throw new Error(`claim answered ${res.status} ${res.text}`);
  await waitFor(async () => (await providerStats(providerUrl)).byOrder[orderId]?.deliveries === 1, { timeoutMs: 10_000, intervalMs: 20, what: `delivery of ${orderId}` });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return answeredMs;
}

/**
 * Commands run back to back from one connection within this many ms: one pipeline (one round trip).
 * Measured here: pipelined commands 10-36 µs apart, a command sent after the previous one's reply
 * 300 µs or more.
 */
const PIPELINE_GAP_MS = 0.1;

/**
 * Adds the claim's commands to `tally`; returns how many commands named no claim (background). A
 * command counts for the claim when it names its order number, its user or its gift's hash (read by
 * the job and the analyzer for each order; the background polls other keys of the gift).
 */
function count(lines: { atMs: number; from: string; words: string[] }[], orderId: string, userId: string, giftHash: string, answeredMs: number, tally: Tally): number {
  let background = 0;
  let current: 'before' | 'after' | undefined;
  let last: { from: string; atMs: number } | undefined;
  for (const line of lines) {
    if (line.from === 'lua') {
      if (current) tally[current === 'before' ? 'beforeInScripts' : 'afterInScripts']++;
      continue;
    }
    const names = line.words.some((w) => w.includes(orderId) || w.includes(userId) || w.endsWith(giftHash));
    if (!names) {
      current = undefined;
      last = undefined;
      background++;
      continue;
    }
    current = line.atMs <= answeredMs ? 'before' : 'after';
    const command = line.words[0]!.toLowerCase();
    tally[current]++;
    if (command === 'evalsha' || command === 'eval') tally[current === 'before' ? 'beforeScripts' : 'afterScripts']++;
    const pipelined = last !== undefined && last.from === line.from && line.atMs - last.atMs <= PIPELINE_GAP_MS;
    if (!pipelined) tally[current === 'before' ? 'beforeTrips' : 'afterTrips']++;
    last = { from: line.from, atMs: line.atMs };
    tally.byCommand.set(command, (tally.byCommand.get(command) ?? 0) + 1);
  }
  return background;
}
