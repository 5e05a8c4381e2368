#!/usr/bin/env node
// `npm test`: check that PostgreSQL answers, type-check, lint (eslint.config.js: the architecture's import rules), build the apps
// (e2e tests run the real dist/ processes), then every spec.
// e2e suites start several processes each, so Jest runs them one file at a time on small machines.
import { spawnSync } from 'node:child_process';
import { DEFAULT_DATABASE_URL, probePostgres, redactDatabaseUrl } from './lib/pg-probe.mjs';

// The e2e specs need PostgreSQL (the system of record) as they need Redis: say so once, up front,
// rather than in every spec that starts an app.
const databaseUrl = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
const postgres = await probePostgres(databaseUrl, 2_000);
if (!postgres.ok) {
  console.error(`npm test needs PostgreSQL at ${redactDatabaseUrl(databaseUrl)} (DATABASE_URL): ${postgres.reason}.`);
  console.error('bash .ci/postgres.sh installs and starts one that trusts 127.0.0.1 (as CI does); see README.');
  process.exit(1);
}

const run = (cmd, args) => {
  const { status } = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  if (status !== 0) process.exit(status ?? 1);
};
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
run(npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run('npm', ['run', '--silent', 'lint']);
run('npm', ['run', '--silent', 'build']);
// --forceExit: a handle a failed test leaves open (a socket to a killed process) must not keep the
// run alive; every e2e suite stops its own processes in afterAll.
run(npx, ['jest', '--runInBand', '--forceExit', ...process.argv.slice(2)]);
