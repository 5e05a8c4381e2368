// The Nest rspack builder names the bundle after the project root (dist/tools/provider-stub/main.js);
// every other process is started as dist/apps/<app>/main.js, so the stub goes there too.
export default (options) => ({ ...options, output: { ...options.output, filename: 'apps/provider-stub/main.js' } });
