/**
 * ioredis errors that mean "Redis cannot serve this now" rather than a bug: the server is down,
 * restarting or failing over, a cluster is moving slots (a redirection the client could not follow
 * in time), or it is full (`OOM command not allowed`: with `maxmemory-policy noeviction` a full
 * Redis refuses writes). Such a request is refused as retryable (503), never failed as 500. The same
 * for PostgreSQL (the archive) not answering: refused connections, connect and query timeouts, a
 * server starting up or shutting down.
 */
const UNAVAILABLE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|the database system is (starting up|shutting down)|terminating connection due to administrator command|OOM command not allowed|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|\b(MOVED|ASK) \d+ |Too many Cluster redirections/;

export function isStorageUnavailable(err: unknown): boolean {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)} ${(err as { code?: string })?.code ?? ''}`;
  return UNAVAILABLE.test(text);
}
