import { testDatabaseUrl } from '../../test/support/database.js';
import { http } from '../../test/support/http.js';
import { freePort } from '../../test/support/ports.js';
import { spawnApp } from '../../test/support/spawn-app.js';
import type { Suite } from '../../test/support/suite.js';
import { waitFor } from '../../test/support/wait-for.js';
import type { BenchContext } from '../support/bench-run.js';
import { publishActivity, userAuthHeaders } from '../support/fixtures.js';
import { runHttpLoad } from '../support/http-load.js';
import type { LoadResult } from '../support/load-result.js';
import { fmtRatio, printTable, RESULT_HEADER, resultRow, verdict } from '../support/report.js';
import { measurePicks } from './rollout.picks.js';

const CONNECTIONS = 32;
const WARMUP_S = 3;
const MAX_S = 6;
const ROUNDS = 4;
const USERS = 200;
const WEIGHT_PCT = 50;
const GIFT_ID = 'bench-gw-rollout-g1';
/** Query instances per release on the rollout side; the side without a rollout has twice as many, all stable. */
const PER_RELEASE = 2;

/**
 * The routing cost of a gray release (issue 19): `GET /api/gifts/{id}` at max through a gateway with
 * a rollout active (query canary at 50 % of users) vs a gateway with none, same run. Two deployments
 * of equal size so neither side has more serving processes: "none" has four stable query instances,
 * "rollout" two stable and two canary (`RELEASE=canary-b`). Two per release, not one: a group of one
 * cannot balance (a user's calls must go to their release), which on this shared box cost 12-16 %
 * of ok/s in a run with 1 + 1 — a capacity effect of pinning users, not of routing. Requests rotate over 200 users so the
 * rollout splits them. Sides alternate in ABBA order over four rounds to spread drift of a shared
 * machine over both; the ratio is of the summed ok/s. Goal: rollout >= 97 % of none. Printed, not asserted.
 */
export async function measureRolloutCost(ctx: BenchContext): Promise<void> {
  // BENCH_ROLLOUT_CALIBRATE=1: an A/A run. The second deployment's extra instances run `stable` too
  // and no rollout is set, so both sides are the same: the ratio shows this machine's noise.
  const isCalibration = process.env.BENCH_ROLLOUT_CALIBRATE === '1';
  const canaryRelease = isCalibration ? 'stable' : 'canary-b';
  ctx.step(`rollout: starting two deployments (${2 * PER_RELEASE} stable query instances | ${PER_RELEASE} stable + ${PER_RELEASE} canary-b)`);
  // Static admission on both: the adaptive gate's shedding (a feedback loop on a shared 2-core box)
  // would make the ok/s of a side depend on when it shed, not on routing.
  const gatewayEnv = { ADMISSION_MODE: 'static' };
  const none = await ctx.startSuite({ queries: 2 * PER_RELEASE, gatewayEnv });
  const rollout = await ctx.startSuite({ queries: PER_RELEASE, gatewayEnv });
  for (let i = 0; i < PER_RELEASE; i++) {
    const canary = await spawnApp('query', {
      REDIS_URL: rollout.redisUrl, REDIS_PREFIX: rollout.prefix, DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: rollout.databaseSchema,
      TCP_PORT: String(await freePort()), HTTP_PORT: String(await freePort()), RELEASE: canaryRelease,
    }, { label: `query-canary-b-${i + 1}` });
    ctx.defer(() => canary.stop());
  }
  for (const suite of [none, rollout]) await publishActivity(suite, 'bench-gw-rollout', [{ giftId: GIFT_ID, inventory: 1_000 }]);
  if (!isCalibration) {
    const put = await http('PUT', `${rollout.gatewayUrls[0]}/admin/releases/query`, { token: rollout.adminToken, body: { canary: 'canary-b', weightPct: WEIGHT_PCT, reason: 'bench' } });
    if (put.status !== 200) throw new Error(`rollout refused: ${put.status} ${put.text}`);
  }
  await waitFor(async () => {
    const res = await http('GET', `${rollout.gatewayUrls[0]}/admin/releases`, { token: rollout.adminToken });
    const query = res.body.services.find((s: { service: string }) => s.service === 'query');
    const expected = isCalibration ? 2 * PER_RELEASE : PER_RELEASE;
    return query.releases.some((r: { release: string; instances: number }) => r.release === canaryRelease && r.instances === expected);
  }, { timeoutMs: 10_000, what: 'the gateway to know every instance' });

  const sides = await Promise.all(
    [{ name: 'none', suite: none }, { name: isCalibration ? 'none (A/A copy)' : `rollout ${WEIGHT_PCT} %`, suite: rollout }].map(async ({ name, suite }) => ({ name, suite, users: await userAuthHeaders(suite, 'bench-rollout', USERS) })),
  );
  const path = `/api/gifts/${GIFT_ID}`;
  const load = (side: { suite: Suite; users: string[] }, durationS: number) => {
    let next = 0;
    return runHttpLoad({
      origin: side.suite.gatewayUrls[0], path, connections: CONNECTIONS, durationS,
      setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: side.users[next++ % side.users.length] } }),
    });
  };
  for (const side of sides) {
    ctx.step(`rollout: ${side.name}: warm-up ${WARMUP_S} s`);
    await load(side, WARMUP_S);
  }
  const results: Record<string, LoadResult[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    // ABBA order (none, rollout | rollout, none | ...): a side is never always the one that goes first.
    for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
      ctx.step(`rollout: round ${round}, ${side.name}: max for ${MAX_S} s`);
      results[side.name].push(await load(side, MAX_S));
    }
  }
  const served = await http('GET', `${rollout.gatewayUrls[0]}/admin/releases`, { token: rollout.adminToken });
  const queryReleases = served.body.services.find((s: { service: string }) => s.service === 'query').releases as Array<{ release: string; requests: number }>;

  printTable(`GET ${path}, ${USERS} users`, RESULT_HEADER, sides.flatMap((s) => results[s.name].map((r, i) => resultRow(`gateway, ${s.name}`, `max, ${CONNECTIONS} conns, round ${i + 1}`, r))));
  const sum = (name: string) => results[name].reduce((acc, r) => acc + r.okPerS, 0);
  const ratio = sum(sides[1].name) / sum(sides[0].name);
  console.log('');
  console.log(`gift reads judged per query release in the last 60 s (rollout side): ${queryReleases.map((r) => `${r.release} ${r.requests}`).join(', ')}`);
  const picks = measurePicks();
  const perRequestUs = 1_000_000 / (sum(sides[0].name) / ROUNDS);
  console.log(`router alone (in process): pick + report ${picks.noneNs.toFixed(0)} ns with no rollout, ${picks.rolloutNs.toFixed(0)} ns with the rollout (+${(picks.rolloutNs - picks.noneNs).toFixed(0)} ns = ${(((picks.rolloutNs - picks.noneNs) / 1_000 / perRequestUs) * 100).toFixed(3)} % of the ${perRequestUs.toFixed(0)} µs a request costs the box here)`);
  console.log(`max req/s, ${sides[1].name} / none: ${fmtRatio(ratio)} (${Math.round(sum(sides[1].name) / ROUNDS)} vs ${Math.round(sum(sides[0].name) / ROUNDS)} ok/s per round)  (goal >= 97%: ${verdict(ratio >= 0.97)})`);
}
