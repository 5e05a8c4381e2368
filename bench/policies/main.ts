// Cost per call of Rampart's resilience policies on the happy path, next to a bare async call and
// opossum alone: `npm run bench:policies [-- calls]` (default 1e6 calls per case, one at a time).
// A plain loop of awaited calls on one core. The cases run interleaved in 7 rounds of calls/7 each;
// the table shows the median and the best round (the least disturbed by other load) in ns per call,
// and the median's ratio to the bare call.
import CircuitBreaker from 'opossum';
import { TimeoutStrategy, timeout } from 'cockatiel';
import {
  BreakerRegistry,
  CircuitOpenError,
  TimeoutClasses,
  compose,
  exponential,
  retry,
  RetryBudget,
  SuccessRateGate,
  type Policy,
} from '@app/resilience';

const calls = Number(process.argv[2] ?? 1e6);
const work = async (): Promise<number> => 1;

const ROUNDS = 7;

async function round(call: () => Promise<unknown>, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Number(process.hrtime.bigint() - start) / n;
}

async function measureAll(cases: [string, () => Promise<unknown>][]): Promise<{ name: string; ns: number; best: number }[]> {
  for (const [, call] of cases) await round(call, Math.min(calls, 50_000)); // warm-up (JIT, caches)
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 0; c < cases.length; c++) samples[c].push(await round(cases[c][1], Math.ceil(calls / ROUNDS)));
  }
  return cases.map(([name], c) => {
    const sorted = samples[c].sort((a, b) => a - b);
    return { name, ns: sorted[Math.floor(ROUNDS / 2)], best: sorted[0] };
  });
}

async function main(): Promise<void> {
  const breakers = new BreakerRegistry({ volumeThreshold: 20 });
  const classes = new TimeoutClasses();
  const fast = classes.get('fast');
  const budget = new RetryBudget();
  const gate = new SuccessRateGate({ successRate: () => 1 });

  const opossumDefaults = new CircuitBreaker(work); // opossum's defaults: a 10 s timer per call
  const opossumNoTimer = new CircuitBreaker(work, { timeout: false, rollingPercentilesEnabled: false, enableSnapshots: false });
  const breaker = breakers.for('bench.breaker');
  // A claim (not idempotent): class bulkhead, route breaker, class timeout.
  const claim: Policy = compose(fast.bulkhead, breakers.for('bench.claim'), fast.timeout);
  // A gateway read: gated, budgeted retry around the same three.
  const read: Policy = compose(
    retry({ idempotent: true, maxAttempts: 3, backoff: exponential(), gate, budget }),
    fast.bulkhead,
    breakers.for('bench.read'),
    fast.timeout,
  );
  const noTimeout: Policy = compose(fast.bulkhead, breakers.for('bench.noTimeout'));
  const open = breakers.for('bench.open', { volumeThreshold: 1 });
  await open.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);

  const cockatielTimeout = timeout(300, TimeoutStrategy.Aggressive);
  const results = await measureAll([
    ['bare async call', work],
    ['opossum fire (defaults: 10 s timer)', () => opossumDefaults.fire()],
    ['opossum fire (timeout: false)', () => opossumNoTimer.fire()],
    ['our breaker (opossum adapter)', () => breaker.execute(work)],
    ['cockatiel timeout (Aggressive), for reference', () => cockatielTimeout.execute(work)],
    ['our fast.timeout', () => fast.timeout.execute(work)],
    ['fast.bulkhead (cockatiel)', () => fast.bulkhead.execute(work)],
    ['bulkhead → breaker', () => noTimeout.execute(work)],
    ['claim: bulkhead → breaker → timeout', () => claim.execute(work)],
    ['read: retry → bulkhead → breaker → timeout', () => read.execute(work)],
    ['open breaker → CircuitOpenError', () => open.execute(work).catch((e: unknown) => e as CircuitOpenError)],
  ]);
  const bare = results[0].ns;
  console.log(`node ${process.version}, ${calls.toExponential(0)} sequential calls per case (${ROUNDS} interleaved rounds)\n`);
  console.log(`${'case'.padEnd(46)} ${'median ns'.padStart(10)} ${'best ns'.padStart(8)} ${'× bare'.padStart(7)}`);
  for (const r of results) {
    console.log(`${r.name.padEnd(46)} ${r.ns.toFixed(0).padStart(10)} ${r.best.toFixed(0).padStart(8)} ${(r.ns / bare).toFixed(1).padStart(7)}`);
  }
  const by = (name: string) => results.find((r) => r.name.startsWith(name))!;
  const opossum = by('opossum fire (timeout: false)');
  for (const name of ['claim', 'read']) {
    const r = by(name);
    console.log(`${name} over opossum (timeout: false): +${(r.ns - opossum.ns).toFixed(0)} ns median, +${(r.best - opossum.best).toFixed(0)} ns best`);
  }

  opossumDefaults.shutdown();
  opossumNoTimer.shutdown();
  breakers.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
