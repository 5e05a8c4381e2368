import { createServer, type Server, type Socket, connect } from 'node:net';
import { testDatabaseUrl } from './database.js';

/** A TCP proxy to the test PostgreSQL that a test can cut (refusing connections) and restore. */
export class PgProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target = new URL(testDatabaseUrl())) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  url(): string {
    const url = new URL(testDatabaseUrl());
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }
}
