import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { waitFor } from './wait-for.js';

export type AppName = 'gateway' | 'query' | 'delivery' | 'analyzer' | 'provider-stub';

/** A running app process started from `dist/`, with its output kept for failure reports. */
export interface RunningApp {
  name: string;
  child: ChildProcess;
  pid: number;
  logs: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** Sends a signal (e.g. SIGKILL, SIGSTOP, SIGCONT). */
  signal(sig: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

const ROOT = join(__dirname, '..', '..');

/**
 * The SERVICE_TOKEN every test deployment shares unless a test sets its own (or `''` to start an
 * app without one). A test value, generated per test process.
 */
export const TEST_SERVICE_TOKEN = randomBytes(32).toString('hex');
const running = new Set<RunningApp>();

/** Starts `node dist/apps/<app>/main.js` and waits for its `app.ready` line. */
export async function spawnApp(app: AppName, env: Record<string, string>, opts: { label?: string; timeoutMs?: number } = {}): Promise<RunningApp> {
  const started = startApp(app, env, opts.label);
  try {
    await waitFor(() => started.logs.some((l) => l.includes('"event":"app.ready"')) || started.child.exitCode !== null, {
      timeoutMs: opts.timeoutMs ?? 20_000,
      what: `${started.name} to be ready`,
    });
  } catch (err) {
    await started.stop(0);
    throw new Error(`${String(err)}\n${tail(started)}`);
  }
  if (started.child.exitCode !== null) throw new Error(`${started.name} exited with ${started.child.exitCode}\n${tail(started)}`);
  return started;
}

/** Starts an app without waiting (for start-up failure tests). */
export function startApp(app: AppName, env: Record<string, string>, label?: string): RunningApp {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'log', ...(app === 'provider-stub' ? {} : { SERVICE_TOKEN: TEST_SERVICE_TOKEN }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
    if (logs.length > 2000) logs.splice(0, logs.length - 1000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const result: RunningApp = {
    name: label ?? app,
    child,
    pid: child.pid!,
    logs,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    stop: async (graceMs = 5_000) => {
      running.delete(result);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGCONT');
      child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(result);
  return result;
}

/** The base URL (`http://127.0.0.1:<port>`) of a service's health and metrics server, from its `app.ready` line. */
export function httpUrlOf(app: RunningApp): string {
  const ready = app.logs.find((l) => l.includes('"event":"app.ready"'));
  if (!ready) throw new Error(`${app.name} has not logged app.ready`);
  return `http://127.0.0.1:${JSON.parse(ready).httpPort}`;
}

/** The last lines of an app's output, for failure messages. */
export function tail(app: RunningApp, lines = 50): string {
  return `--- last ${lines} lines of ${app.name} ---\n${app.logs.slice(-lines).join('\n')}`;
}

/** Stops every app still running (afterAll safety net). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop(3_000)));
}
