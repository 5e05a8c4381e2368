// One app started by `npm start`: output prefixed per line, a wait for its ready line, a graceful stop.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The line every Rampart app prints once it serves (STYLE.md section 9). */
export const READY_MARKER = '"event":"app.ready"';

export class ChildApp {
  /** Last lines of output, printed when the app fails to start. */
  lines = [];
  /** Set before a deliberate stop, so its exit is not reported as a crash. */
  stopping = false;
  #child;
  #exit;
  #isReady = false;
  #onReady = new Set();

  /**
   * @param {string} name prefix of each output line, e.g. "query-1"
   * @param {string[]} argv command and arguments
   * @param {Record<string, string>} env variables added to this process's environment
   * @param {{ keepLines?: number, format?: (line: string) => string }} options `format` turns a
   *   raw output line into what is shown (e.g. pino-pretty); the ready check always sees the raw line
   */
  constructor(name, argv, env, { keepLines = 50, format = (line) => line } = {}) {
    this.name = name;
    this.argv = argv;
    this.env = env;
    this.keepLines = keepLines;
    this.format = format;
  }

  get pid() {
    return this.#child?.pid;
  }

  /** True once the ready line was seen. */
  get isReady() {
    return this.#isReady;
  }

  get running() {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Spawns the process in its own process group (Ctrl-C in the terminal then reaches only
   * start.mjs, which stops the apps in order) and echoes its output as `[name] line`.
   * @param {(code: number | null, signal: string | null) => void} onExit called on every exit
   */
  start(onExit) {
    const [command, ...args] = this.argv;
    this.#child = spawn(command, args, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#exit = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        onExit(code, signal);
        resolve();
      });
      this.#child.once('error', (err) => {
        this.#remember(`spawn failed: ${err.message}`);
        onExit(null, null);
        resolve();
      });
    });
    this.#pipe(this.#child.stdout, process.stdout);
    this.#pipe(this.#child.stderr, process.stderr);
  }

  /** Resolves when the ready line appears; rejects if the process exits first or `timeoutMs` passes. */
  waitReady(timeoutMs) {
    if (this.#isReady) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err) => {
        clearTimeout(timer);
        this.#onReady.delete(onReady);
        err ? reject(err) : resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error(`${this.name} printed no ready line within ${timeoutMs / 1000} s`)), timeoutMs);
      this.#onReady.add(onReady);
      this.#exit.then(() => done(new Error(`${this.name} exited before it was ready (${this.describeExit()})`)));
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call twice. */
  async stop(graceMs = 10_000) {
    this.stopping = true;
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.#child.kill('SIGKILL'), graceMs);
    await this.#exit;
    clearTimeout(timer);
  }

  /** Immediate SIGKILL, for the last-resort exit handler. */
  kill() {
    if (this.running) this.#child.kill('SIGKILL');
  }

  describeExit() {
    return describeExit(this.#child);
  }

  #pipe(stream, out) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      this.#remember(line);
      out.write(`[${this.name}] ${this.format(line)}\n`);
      if (!this.#isReady && line.includes(READY_MARKER)) {
        this.#isReady = true;
        for (const notify of [...this.#onReady]) notify();
      }
    });
  }

  #remember(line) {
    this.lines.push(line);
    if (this.lines.length > this.keepLines) this.lines.shift();
  }
}

function describeExit(child) {
  if (!child) return 'not started';
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}
