import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../../test/support/wait-for.js';

const ROOT = join(__dirname, '..', '..');
const RUNNER = join(__dirname, 'run.cjs');

/** A helper process of a bench (e.g. the no-hop server), started from its TypeScript source. */
export interface BenchProcess {
  name: string;
  pid: number;
  logs: string[];
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node bench/support/run.cjs <file>` and waits for its `"event":"app.ready"` line, as
 * test/support/spawn-app does for the apps in dist/.
 */
export async function spawnScript(file: string, env: Record<string, string>, opts: { name: string; timeoutMs?: number }): Promise<BenchProcess> {
  const child = spawn(process.execPath, [RUNNER, file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
    if (logs.length > 500) logs.splice(0, logs.length - 250);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 3_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(() => logs.some((l) => l.includes('"event":"app.ready"')) || child.exitCode !== null, {
      timeoutMs: opts.timeoutMs ?? 20_000,
      what: `${opts.name} to be ready`,
    });
  } catch (err) {
    await stop(0);
    throw new Error(`${String(err)}\n${logs.slice(-30).join('\n')}`);
  }
  if (child.exitCode !== null) throw new Error(`${opts.name} exited with ${child.exitCode}\n${logs.slice(-30).join('\n')}`);
  return { name: opts.name, pid: child.pid!, logs, stop };
}
