import { NoHealthyEndpointError } from './errors/no-healthy-endpoint.error.js';
import type { CallOutcome, Router } from './router.js';

/** Options of {@link RoundRobinRouter}. */
export interface RoundRobinRouterOptions {
  /** Name used in errors, e.g. the service name. Default `'upstream'`. */
  name?: string;
}

/**
 * Hands out the endpoints in turn, skipping excluded ones. It ignores outcomes: every endpoint
 * stays eligible, and a failed call is the caller's to retry elsewhere.
 */
export class RoundRobinRouter<E> implements Router<E> {
  private readonly list: readonly E[];
  private readonly name: string;
  private next = 0;

  constructor(endpoints: readonly E[], options: RoundRobinRouterOptions = {}) {
    this.list = Object.freeze([...endpoints]);
    this.name = options.name ?? 'upstream';
  }

  pick(exclude?: ReadonlySet<E>): E {
    for (let tried = 0; tried < this.list.length; tried++) {
      const endpoint = this.list[this.next];
      this.next = (this.next + 1) % this.list.length;
      if (!exclude?.has(endpoint)) return endpoint;
    }
    throw new NoHealthyEndpointError(this.name);
  }

  report(_endpoint: E, _outcome: CallOutcome, _latencyMs: number): void {
    // Round robin does not weigh instances by outcome; success-rate routing will.
  }

  endpoints(): readonly E[] {
    return this.list;
  }
}
