#!/usr/bin/env node
// `npm test`: type-check, lint (eslint.config.js: the architecture's import rules), build the apps
// (e2e tests run the real dist/ processes), then every spec.
// e2e suites start several processes each, so Jest runs them one file at a time on small machines.
import { spawnSync } from 'node:child_process';

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
