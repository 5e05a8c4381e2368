import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';

/** One request of a storm: which class it is, and how to send it. */
export interface StormRequest {
  cls: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
}

/** What happened to one request: when it was due (ms since the run's start), its latency from then, its status (0: unanswered). */
export interface StormSample {
  cls: string;
  dueMs: number;
  latencyMs: number;
  status: number;
  /** For an error answer: its `Retry-After` header and its body's `error.code` (when the body has the contract's shape). */
  retryAfter?: string;
  code?: string;
}

/** Options of {@link runOpenLoop}. */
export interface OpenLoopOptions {
  /** Gateways to spread requests over (round robin). */
  origins: string[];
  /** Requests per second over time: `rateAt(ms since start)`. */
  rateAt: (elapsedMs: number) => number;
  durationMs: number;
  /** The next request to send. */
  next: () => StormRequest;
  /** A request without an answer after this long is unanswered (status 0). Default 5000. */
  giveUpMs?: number;
  /** Sockets per gateway. Default 512. */
  connections?: number;
  /** Read error answers' `Retry-After` and `error.code` into the samples (costs the generator a JSON parse each). Default false. */
  inspectErrors?: boolean;
}

/**
 * An open-loop load generator: request `i` is due when the integral of `rateAt` reaches `i`, whatever
 * the answers do; latency runs from the due time (not the send), so a generator or server that falls
 * behind shows as latency instead of hiding it (no coordinated omission). A 1 ms timer sends what is
 * due. Each request gets `giveUpMs` to be answered (headers and body), else it counts as unanswered.
 */
export async function runOpenLoop(opts: OpenLoopOptions): Promise<{ samples: StormSample[]; sentLateMs: number; loopDelayP99Ms: number; maxClientQueued: number }> {
  const giveUpMs = opts.giveUpMs ?? 5_000;
  const pools = opts.origins.map(
    (origin) => new Pool(origin, { connections: opts.connections ?? 512, pipelining: 1, headersTimeout: giveUpMs, bodyTimeout: giveUpMs, keepAliveTimeout: 10_000 }),
  );
  const samples: StormSample[] = [];
  const pending: Promise<void>[] = [];
  // The generator's own event-loop delay: when it is large, latencies include the generator's queue.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const started = performance.now();
  let owed = 0;
  let lastMs = 0;
  let sent = 0;
  let worstLateMs = 0;
  // Requests waiting in the generator for a free socket (all busy): their latency is the client's queue, not the server's.
  let maxClientQueued = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - started;
      if (elapsed >= opts.durationMs) return resolve();
      maxClientQueued = Math.max(maxClientQueued, pools.reduce((n, p) => n + p.stats.queued, 0));
      owed += (opts.rateAt(elapsed) * (elapsed - lastMs)) / 1000;
      // Each due request's due time is spread evenly over the interval since the last tick.
      const count = Math.floor(owed);
      for (let i = 0; i < count; i++) {
        const dueMs = lastMs + ((i + 1) / count) * (elapsed - lastMs);
        worstLateMs = Math.max(worstLateMs, elapsed - dueMs);
        const request = opts.next();
        const pool = pools[sent++ % pools.length]!;
        pending.push(send(pool, request, started, dueMs, giveUpMs, opts.inspectErrors ?? false).then((sample) => void samples.push(sample)));
      }
      owed -= count;
      lastMs = elapsed;
      setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  loopDelay.disable();
  await Promise.all(pools.map((p) => p.close()));
  return { samples, sentLateMs: worstLateMs, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, maxClientQueued };
}

async function send(pool: Pool, request: StormRequest, started: number, dueMs: number, giveUpMs: number, inspectErrors: boolean): Promise<StormSample> {
  try {
    const res = await pool.request({ method: request.method, path: request.path, headers: request.headers, signal: AbortSignal.timeout(giveUpMs) });
    const sample: StormSample = { cls: request.cls, dueMs, latencyMs: 0, status: res.statusCode };
    if (inspectErrors && res.statusCode >= 400) {
      const retryAfter = res.headers['retry-after'];
      if (typeof retryAfter === 'string') sample.retryAfter = retryAfter;
      sample.code = errorCodeOf(await res.body.text());
    } else {
      await res.body.dump();
    }
    sample.latencyMs = performance.now() - started - dueMs;
    if (sample.latencyMs > giveUpMs) sample.status = 0;
    return sample;
  } catch {
    return { cls: request.cls, dueMs, latencyMs: performance.now() - started - dueMs, status: 0 };
  }
}

function errorCodeOf(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The `q` quantile (0-1) of `xs` (sorted copy); NaN when empty. */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
