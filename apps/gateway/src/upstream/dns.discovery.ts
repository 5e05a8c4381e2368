import { resolve4 } from 'node:dns/promises';
import { Logger } from '@nestjs/common';

/** Resolves a host name to its IPv4 addresses (A records). */
export type ResolveA = (hostname: string) => Promise<string[]>;

/** DNS answers that mean "no instance right now" (a headless Service with no ready pod), not a failure. */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);

/** Options of {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** `name:port`, e.g. `query-headless.rampart.svc.cluster.local:4001` (env `QUERY_DNS`). */
  target: string;
  /** The resolver. Default `dns.promises.resolve4` (the system's DNS servers, no cache). */
  resolve?: ResolveA;
  /** Time an answer is kept before the name is resolved again, in ms. Default 1000. */
  refreshMs?: number;
  /** Clock, in ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Instances of a Kubernetes headless Service: its DNS name resolves to one A record per ready pod,
 * so `addresses()` answers `ip:port` for each. An answer is reused for `refreshMs` (discovery reads
 * every second; DNS is asked at most that often). "No such name / no records" is an empty list (every
 * pod gone or not ready); any other failure (timeout, SERVFAIL) is thrown, so the caller keeps the
 * list it has, as for a Redis outage.
 */
export class DnsDiscovery {
  private readonly logger = new Logger(DnsDiscovery.name);
  private readonly host: string;
  private readonly port: number;
  private cached?: { addresses: string[]; atMs: number };
  private isFailing = false;

  constructor(private readonly options: DnsDiscoveryOptions) {
    const target = parseDnsTarget(options.target);
    if (!target) throw new Error(`DNS discovery target must be name:port (got "${options.target}")`);
    ({ host: this.host, port: this.port } = target);
  }

  /** The `ip:port` of every A record of the name, sorted. */
  async addresses(): Promise<string[]> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.atMs < (this.options.refreshMs ?? 1_000)) return this.cached.addresses;
    let ips: string[];
    try {
      ips = await (this.options.resolve ?? resolve4)(this.host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!EMPTY_ANSWER.has(code)) {
        if (!this.isFailing) this.logger.warn({ event: 'dns-discovery.failed', name: this.host, code, error: (err as Error).message });
        this.isFailing = true;
        throw err;
      }
      ips = [];
    }
    this.isFailing = false;
    const addresses = [...new Set(ips)].sort().map((ip) => `${ip}:${this.port}`);
    this.cached = { addresses, atMs: now };
    return addresses;
  }
}

/** `name:port` → parts, or undefined when malformed (name of letters, digits, dots, dashes; port 1-65535). */
export function parseDnsTarget(value: string): { host: string; port: number } | undefined {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return undefined;
  return { host: match[1], port: Number(match[2]) };
}

/**
 * Several sources of instance addresses as one (Redis registry, DNS): the union, deduplicated. If any
 * source fails the whole read fails, so discovery keeps its current list instead of dropping the
 * instances of the failed source.
 */
export function mergeSources(sources: ReadonlyArray<() => Promise<string[]>>): () => Promise<string[]> {
  return async () => [...new Set((await Promise.all(sources.map((read) => read()))).flat())];
}
