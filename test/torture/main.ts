import { Prng, randomSeed } from './prng.js';
import { runTorture } from './run-torture.js';
import { describeSchedule, makeSchedule } from './schedule.js';

/**
 * `npm run torture -- [--seed N] [--seeds K] [--minutes M] [--quiesce-s S] [--keys uuid|all] [--dry-run]`
 *
 * Runs the seeded fault-injection checker (see README "Torture checker"). Without `--seed` a
 * random seed is drawn and printed first; `--seeds K` runs K consecutive seeds from it.
 * `--keys uuid` sends UUID-shaped keys only (a schedule without numeric or 128-char keys).
 * `--dry-run` prints the schedule of the seed and starts nothing. Exit code 1 on any violation.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const given = arg('seed');
  const seed = given === undefined ? randomSeed() : Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seed must be an integer 0-4294967295, got ${given}`);
  if (given === undefined) console.log(`torture: random seed ${seed} (replay with --seed ${seed})`);
  const seeds = Number(arg('seeds') ?? 1);
  const minutes = Number(arg('minutes') ?? 1);
  const quiesceS = Number(arg('quiesce-s') ?? 90);
  const keys = arg('keys') ?? 'all';
  if (!(minutes > 0 && minutes <= 120) || !Number.isInteger(seeds) || seeds < 1 || seeds > 1000) throw new Error('--minutes must be 0-120 and --seeds 1-1000');
  if (keys !== 'all' && keys !== 'uuid') throw new Error('--keys must be all or uuid');
  if (process.argv.includes('--dry-run')) {
    for (let s = seed; s < seed + seeds; s++) {
      console.log(`seed ${s}:`);
      for (const line of describeSchedule(makeSchedule(new Prng(s).fork('schedule'), minutes * 60_000))) console.log(`  ${line}`);
    }
    return;
  }
  let failed = 0;
  for (let s = seed; s < seed + seeds; s++) {
    const report = await runTorture({ seed: s >>> 0, minutes, quiesceMs: quiesceS * 1000, keyMix: keys === 'uuid' ? { uuid: 1, numeric: 0, long: 0 } : undefined });
    console.log(`\n${report.text}\n`);
    if (!report.ok) failed += 1;
  }
  if (seeds > 1) console.log(`torture: ${seeds - failed}/${seeds} seeds passed (from ${seed})`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
