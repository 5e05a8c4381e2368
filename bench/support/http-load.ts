import autocannon from 'autocannon';
import { LoadTally, type LoadResult } from './load-result.js';

/** Options of {@link runHttpLoad}. */
export interface HttpLoadOptions {
  /** Origin, e.g. `http://127.0.0.1:3000`. */
  origin: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Concurrent keep-alive connections, one request in flight on each. */
  connections: number;
  durationS: number;
  /** Rewrites each request before it is sent (fresh Idempotency-Key, another user...). */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
  /** Which statuses count as success. Default: any 2xx. */
  isOk?: (status: number) => boolean;
}

/**
 * Closed-loop HTTP load with autocannon: every connection sends its next request as soon as the
 * previous one is answered, so `okPerS` is the server's maximum at that concurrency. Latencies come
 * from autocannon's `response` events (float ms) rather than its histogram, which rounds to 1 ms.
 */
export async function runHttpLoad(opts: HttpLoadOptions): Promise<LoadResult> {
  const tally = new LoadTally();
  const isOk = opts.isOk ?? ((status: number) => status >= 200 && status < 300);
  const request: autocannon.Request = { method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, body: opts.body };
  if (opts.setupRequest) request.setupRequest = opts.setupRequest;
  const instance = autocannon({
    url: opts.origin,
    connections: opts.connections,
    duration: opts.durationS,
    timeout: 10,
    requests: [request],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, latencyMs: number) => {
    if (isOk(status)) tally.success(latencyMs);
    else tally.failure(String(status));
  });
  const result = await instance;
  if (result.timeouts) tally.failure(`timeout`);
  const otherErrors = result.errors - result.timeouts;
  for (let i = 0; i < otherErrors; i++) tally.failure('socket-error');
  return tally.result({ elapsedS: result.duration });
}
