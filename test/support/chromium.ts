import { existsSync } from 'node:fs';

/** A Chromium binary for playwright-core, and where it came from (printed by the test that uses it). */
export interface ChromiumBinary {
  executablePath: string;
  args: string[];
  source: 'CHROMIUM_PATH' | '/usr/bin/chromium' | '@sparticuz/chromium';
}

/** Flags for a desktop Chromium (Debian's package or one named by CHROMIUM_PATH) run headless in tests. */
const DESKTOP_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/**
 * Finds a browser without apt, in this order: `CHROMIUM_PATH` (must exist when set: a wrong path is an
 * error, not a reason to fall back), Debian's `/usr/bin/chromium`, else the Chromium that the
 * `@sparticuz/chromium` devDependency ships inside its registry package (unpacked into the system temp
 * folder on first use, about 1.5 s). Never returns "no browser": it throws, so a test cannot skip silently.
 */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumBinary> {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return { executablePath: fromEnv, args: DESKTOP_ARGS, source: 'CHROMIUM_PATH' };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: DESKTOP_ARGS, source: SYSTEM_CHROMIUM };
  // @sparticuz/chromium is ESM-only; jest.config.js compiles it to CJS like the other ESM-only packages.
  const { default: sparticuz } = await import('@sparticuz/chromium');
  // Its args are made for its own headless-shell build (single process, no sandbox, SwiftShader for GL).
  return { executablePath: await sparticuz.executablePath(), args: sparticuz.args, source: '@sparticuz/chromium' };
}
