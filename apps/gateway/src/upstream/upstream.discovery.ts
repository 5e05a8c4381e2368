import { Logger } from '@nestjs/common';

/** What discovery changes: the instance list of one service's client. */
export interface DiscoveryTarget {
  readonly service: string;
  endpoints(): readonly string[];
  setEndpoints(addresses: readonly string[]): void;
  /** Records the release each instance runs (gray release); targets that do not route by release leave it out. */
  setReleases?(releases: ReadonlyMap<string, string>): void;
}

/** Options of {@link UpstreamDiscovery}. */
export interface UpstreamDiscoveryOptions {
  /** Addresses from env (`QUERY_UPSTREAMS`, ...): always kept, whatever the registry says. */
  staticAddresses: readonly string[];
  /** Reads the live registered addresses of the service (e.g. {@link liveInstances}). */
  registered: () => Promise<string[]>;
  /** Time between reads, in ms. Default 1000. */
  refreshMs?: number;
  /** Reads the release of the registered instances among `addresses` (e.g. {@link instanceReleases}). Default: none. */
  releases?: (addresses: readonly string[]) => Promise<ReadonlyMap<string, string>>;
}

/**
 * Keeps a service's instance list equal to the static addresses plus those registered in Redis:
 * an instance that registers joins on the next read; one whose registration lapsed or was removed
 * leaves (its connection is closed by the client). While Redis cannot be read the list is left as
 * it is, so a Redis outage never empties the pool. `stop()` is safe to call twice.
 */
export class UpstreamDiscovery {
  private readonly logger = new Logger(UpstreamDiscovery.name);
  private timer?: NodeJS.Timeout;
  private isFailing = false;
  private running?: Promise<void>;

  constructor(
    private readonly target: DiscoveryTarget,
    private readonly options: UpstreamDiscoveryOptions,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 1_000);
    this.timer.unref();
  }

  /** One read of the registry (skipped while the previous one is still running). */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async read(): Promise<void> {
    let registered: string[];
    try {
      registered = await this.options.registered();
    } catch (err) {
      if (!this.isFailing) this.logger.warn({ event: 'discovery.read-failed', service: this.target.service, error: String(err) });
      this.isFailing = true;
      return;
    }
    this.isFailing = false;
    const next = [...new Set([...this.options.staticAddresses, ...registered])];
    const current = this.target.endpoints();
    const added = next.filter((a) => !current.includes(a));
    const removed = current.filter((a) => !next.includes(a));
    if (added.length || removed.length) {
      this.target.setEndpoints(next);
      this.logger.log({ event: 'discovery.changed', service: this.target.service, added, removed, instances: next.length });
    }
    await this.readReleases(next);
  }

  /** The registry's word on each instance's release; a failed read leaves the known releases as they are. */
  private async readReleases(addresses: readonly string[]): Promise<void> {
    if (!this.options.releases || !this.target.setReleases) return;
    try {
      const releases = await this.options.releases(addresses);
      if (releases.size) this.target.setReleases(releases);
    } catch (err) {
      this.logger.warn({ event: 'discovery.releases-read-failed', service: this.target.service, error: String(err) });
    }
  }
}
