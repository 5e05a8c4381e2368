import { NoHealthyEndpointError } from './errors/no-healthy-endpoint.error.js';
import type { CallOutcome, EndpointSnapshot, Router } from './router.js';

/** Options of {@link RoundRobinRouter}. */
export interface RoundRobinRouterOptions {
  /** Name used in errors, e.g. the service name. Default `'upstream'`. */
  name?: string;
}

/**
 * Hands out the endpoints in turn, skipping excluded ones. Outcomes never change the choice: every
 * endpoint stays eligible, and a failed call is the caller's to retry elsewhere. It counts calls
 * (since start, not windowed) only so `/admin/upstreams` shows something when it is switched on.
 */
export class RoundRobinRouter<E> implements Router<E> {
  private list: readonly E[] = [];
  private counts = new Map<E, { ok: number; failed: number }>();
  private readonly name: string;
  private next = 0;

  constructor(endpoints: readonly E[], options: RoundRobinRouterOptions = {}) {
    this.name = options.name ?? 'upstream';
    this.setEndpoints(endpoints);
  }

  pick(exclude?: ReadonlySet<E>): E {
    for (let tried = 0; tried < this.list.length; tried++) {
      if (this.next >= this.list.length) this.next = 0;
      const endpoint = this.list[this.next];
      this.next = (this.next + 1) % this.list.length;
      if (!exclude?.has(endpoint)) return endpoint;
    }
    throw new NoHealthyEndpointError(this.name);
  }

  report(endpoint: E, outcome: CallOutcome, _latencyMs: number): void {
    const count = this.counts.get(endpoint);
    if (!count) return;
    if (outcome === 'success') count.ok++;
    else count.failed++;
  }

  endpoints(): readonly E[] {
    return this.list;
  }

  setEndpoints(endpoints: readonly E[]): void {
    this.list = Object.freeze([...new Set(endpoints)]);
    const counts = new Map<E, { ok: number; failed: number }>();
    for (const endpoint of this.list) counts.set(endpoint, this.counts.get(endpoint) ?? { ok: 0, failed: 0 });
    this.counts = counts;
  }

  snapshot(): EndpointSnapshot<E>[] {
    return this.list.map((endpoint) => {
      const { ok, failed } = this.counts.get(endpoint)!;
      return { endpoint, state: 'healthy', successRate: ok + failed === 0 ? 1 : ok / (ok + failed), requests: ok + failed, p99Ms: 0, ejections: 0 };
    });
  }
}
