import { Pool } from 'undici';

/** A keep-alive HTTP client for paced loops: one undici pool towards one origin. */
export class HttpCaller {
  private readonly pool: Pool;

  /** @param connections Most sockets the pool opens. */
  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  /** Sends one request and answers its status code after reading the body. */
  async status(request: { path: string; method?: 'GET' | 'POST' | 'PUT'; headers?: Record<string, string>; body?: string }): Promise<number> {
    const res = await this.pool.request({ method: request.method ?? 'GET', path: request.path, headers: request.headers, body: request.body });
    await res.body.dump();
    return res.statusCode;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
