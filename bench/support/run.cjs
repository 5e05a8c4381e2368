// Runs a TypeScript bench file from the source tree: `node bench/support/run.cjs bench/<name>/main.ts`.
//
// Why a require hook and not a build: benches reuse test/support (whose spawn-app locates
// dist/apps/* through __dirname, so it must run as CommonJS from its own folder) and app code that
// imports `@app/*` aliases. This compiles each .ts file on load with @swc/core, using the same
// settings as jest.config.js (decorator metadata on, CommonJS, `@app/*` mapped to libs), so a bench
// runs exactly what the specs run, with no second build output to keep in sync. The apps themselves
// still run from dist/ (`npm run build`).
'use strict';
const Module = require('node:module');
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const swc = require('@swc/core');

const ROOT = resolve(__dirname, '..', '..');
const LIBS = ['contracts', 'resilience', 'routing', 'platform'];
const options = (filename) => ({
  filename,
  swcrc: false,
  sourceMaps: 'inline',
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    baseUrl: ROOT,
    paths: Object.fromEntries(LIBS.map((lib) => [`@app/${lib}`, [`./libs/${lib}/src/index.ts`]])),
  },
  module: { type: 'commonjs' },
});

Module._extensions['.ts'] = (module, filename) => {
  module._compile(swc.transformFileSync(filename, options(filename)).code, filename);
};

// A `.lua` script is its source text (default export), as the apps' bundler and the specs load it.
Module._extensions['.lua'] = (module, filename) => {
  module.exports = { __esModule: true, default: readFileSync(filename, 'utf8') };
};

// nodenext sources import `./x.js`; in the source tree that file is `./x.ts`.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (parent?.filename?.endsWith('.ts') && /^\.{1,2}\//.test(request) && request.endsWith('.js')) {
    const candidate = join(parent.path, request.slice(0, -3) + '.ts');
    if (existsSync(candidate)) return candidate;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

require('reflect-metadata');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: node bench/support/run.cjs <file.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 1); // the bench sees argv[1] = its own file
require(resolve(entry));
