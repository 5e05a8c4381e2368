// Preload for profiling an app under a bench (BENCH_PROFILE_DIR=<dir> npm run bench:<name>):
// starts V8's sampling profiler at start-up and writes <dir>/<app>-<pid>.cpuprofile when the
// process exits (the apps exit 0 on SIGTERM). Open the file in Chrome DevTools, or summarise it with
// `node bench/support/profile-summary.cjs <file>`. `--cpu-prof` itself is not allowed in NODE_OPTIONS.
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-process session answers synchronously, so the profile is written before the exit.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const name = `${process.env.APP_NAME ?? process.argv[1]?.split('/').slice(-2, -1)[0] ?? 'node'}-${process.pid}.cpuprofile`;
      writeFileSync(join(dir, name), JSON.stringify(result.profile));
    });
  });
}
