// Decides whether `npm start` must build first: a bundle is missing, or older than a source file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE_DIRS = ['apps', 'libs', 'tools'];
const CONFIG_FILES = ['nest-cli.json', 'tsconfig.json', 'package.json'];

/** Newest modification time (ms) of the files that go into a bundle (specs excluded). */
export function newestSourceMtime(root) {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() && !/\.(e2e-)?spec\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) visit(join(root, dir));
  for (const file of CONFIG_FILES) if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

/**
 * Why a build is needed, or undefined when every bundle is newer than every source file.
 * @param {string} root project root
 * @param {string[]} apps e.g. ['gateway', 'query']: bundles are dist/apps/<app>/main.js
 */
export function staleReason(root, apps) {
  const bundles = apps.map((app) => join('dist', 'apps', app, 'main.js'));
  const missing = bundles.filter((bundle) => !existsSync(join(root, bundle)));
  if (missing.length) return `missing ${missing.join(', ')}`;
  const sources = newestSourceMtime(root);
  const stale = bundles.filter((bundle) => statSync(join(root, bundle)).mtimeMs < sources);
  return stale.length ? `sources are newer than ${stale.join(', ')}` : undefined;
}
