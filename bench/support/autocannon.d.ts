// autocannon ships no types and @types/autocannon is not installed: the part of its API the
// benches use, from autocannon 9's README.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Called before each request is sent; returns the request to send. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request;
    }
    interface Options {
      url: string;
      /** Concurrent connections. Default 10. */
      connections?: number;
      /** Seconds to run. Default 10. */
      duration?: number;
      /** Requests in flight per connection. Default 1. */
      pipelining?: number;
      /** Seconds before a request counts as timed out. Default 10. */
      timeout?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      requests?: Request[];
    }
    interface Histogram {
      average: number;
      p50: number;
      p99: number;
      max: number;
      total: number;
    }
    interface Result {
      requests: Histogram;
      latency: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
      /** Seconds. */
      duration: number;
    }
    /** The running job: emits `response(client, statusCode, bytes, responseTimeMs)`; awaitable. */
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
