/**
 * ioredis errors that mean "Redis cannot serve this now" rather than a bug: the server is down,
 * restarting or failing over, a cluster is moving slots (a redirection the client could not follow
 * in time), or it is full (`OOM command not allowed`: with `maxmemory-policy noeviction` a full
 * Redis refuses writes). Such a request is refused as retryable (503), never failed as 500.
 */
const UNAVAILABLE =
  /OOM command not allowed|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|\b(MOVED|ASK) \d+ |Too many Cluster redirections/;

export function isStorageUnavailable(err: unknown): boolean {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)} ${(err as { code?: string })?.code ?? ''}`;
  return UNAVAILABLE.test(text);
}
