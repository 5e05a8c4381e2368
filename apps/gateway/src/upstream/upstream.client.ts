import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { isIP, type Socket } from 'node:net';
import { firstValueFrom, timeout, TimeoutError, type Subscription } from 'rxjs';
import { AppError, ErrorCode, Patterns, type Pattern, type Reply } from '@app/contracts';
import { ProbeScheduler, ReleaseRouter, RELEASE_PATTERN, STABLE_RELEASE, type EndpointSnapshot, type RolloutRoute, type Router } from '@app/routing';
import { classifyFailure, serverError } from './call-failure.js';

/**
 * Options of one {@link Upstream.call}. Every field is optional: the route's policy (timeout class,
 * retry) supplies what is left out (`apps/gateway/src/policies`).
 */
export interface CallOptions {
  /** Budget of each attempt (connect included), in ms. With policies on, a cap on the route's class timeout. */
  timeoutMs?: number;
  /**
   * Whether a refused connection may be retried once on another instance (reads only, never claims).
   * Default: whether the route is idempotent. With policies on, the gated retry does this instead.
   */
  retryOnOtherInstance?: boolean;
  /** Route name: its breaker, class and stale rule. Default the pattern (`gift.get`). */
  route?: string;
  /** Timeout class of this call, overriding the route's (`fast` | `slow`). */
  timeoutClass?: 'fast' | 'slow';
  /**
   * Instances already tried by earlier attempts of this call (filled in by the client): a retry
   * goes to another instance when there is one. Set by the retry policy; callers leave it out.
   */
  tried?: Set<string>;
  /**
   * The user the call is for: during a gray release the call goes to that user's release (sticky by
   * user). Leave it out for calls on nobody's behalf (operators, probes): they go to stable.
   */
  userId?: string;
  /** Filled in by the client with the instance (and its release) that made the last attempt. */
  served?: ServedBy;
}

/** Which instance, of which release, made a call's last attempt. */
export interface ServedBy {
  address?: string;
  release?: string;
}

/** Attempt budget when a caller gives none and no policy supplies one, in ms. */
export const DEFAULT_CALL_TIMEOUT_MS = 3_000;

/** What controllers and readiness checks need from a service; tests bind a fake. */
export interface Upstream {
  call<T>(pattern: Pattern, payload: object, options?: CallOptions): Promise<T>;
  /** Resolves 'ok' when at least one non-ejected instance answers `Patterns.Ping` within `timeoutMs`. */
  anyInstanceAnswers(timeoutMs: number): Promise<string>;
  /** Routing state of every instance, for `/admin/upstreams` (fakes may leave it out). */
  snapshot?(): EndpointSnapshot<string>[];
  /** Applies a gray release's routing (who goes to the canary); clients that do not route by release leave it out. */
  setRollout?(route: RolloutRoute): void;
  /** Calls meant for a release whose group had no healthy instance (served by stable instead), per release. */
  releaseFallbacks?(): Record<string, number>;
  close(): Promise<void>;
}

/** Options of {@link UpstreamClient}. */
export interface UpstreamClientOptions {
  /** Creates the client of one instance. Default a Nest TCP client. */
  createClient?: ClientFactory;
  /** Time between active health probes of probing instances, in ms. Default 500. */
  probeIntervalMs?: number;
  /** Budget of one probe (`Patterns.Ping` over the same transport), in ms. Default 300. */
  probeTimeoutMs?: number;
  /** Adds the service proof to every message (probes included). Default: messages go unsigned. */
  sign?: MessageSigner;
  /**
   * With a {@link ReleaseRouter}: time between pings asking instances whose release is not known yet
   * (new addresses, reconnected ones) which release they run, in ms. Default 1000.
   */
  releaseLearnIntervalMs?: number;
}

/** Turns a payload into the message actually sent (e.g. with the `SERVICE_TOKEN` proof). */
export type MessageSigner = (pattern: string, payload: object) => object;

/** Creates the client of one `host:port` instance address. */
export type ClientFactory = (address: string) => ClientProxy;

/** One attempt on one instance: the value, or the error to throw (and whether the request never left). */
type Attempt<T> = { value: T } | { error: AppError; isConnectRefused: boolean };
interface Connection {
  client: ClientProxy;
  isConnected: boolean;
  subscription?: Subscription;
}

/**
 * One service (query or delivery) behind the router: one TCP client per instance, created on first
 * use. ClientTCP connects lazily and, once its socket closes, dials again on the next call, so a
 * restarted instance is picked up without a new client. A refused connect fails at once.
 */
export class UpstreamClient implements Upstream {
  private readonly logger = new Logger(UpstreamClient.name);
  private readonly connections = new Map<string, Connection>();
  private readonly createClient: ClientFactory;
  private readonly prober: ProbeScheduler<string>;
  private readonly sign?: MessageSigner;
  /** The router when it groups by release (gray release), else undefined. */
  readonly releases?: ReleaseRouter<string>;
  /** Addresses whose release has not been heard from the instance or the registry yet. */
  private readonly unlearned = new Set<string>();
  private learnTimer?: NodeJS.Timeout;

  constructor(
    readonly service: string,
    private readonly router: Router<string>,
    options: UpstreamClientOptions | ClientFactory = {},
  ) {
    const opts = typeof options === 'function' ? { createClient: options } : options;
    this.createClient = opts.createClient ?? tcpClient;
    this.sign = opts.sign;
    const probeTimeoutMs = opts.probeTimeoutMs ?? 300;
    // Probes ride the instance's own connection, so they test what real calls use.
    this.prober = new ProbeScheduler({
      router,
      intervalMs: opts.probeIntervalMs ?? 500,
      probe: (address) => this.pings(address, probeTimeoutMs),
    });
    if (router instanceof ReleaseRouter) {
      this.releases = router;
      for (const address of router.endpoints()) this.unlearned.add(address);
      // Ask new instances their release at once and every interval until they answer, so a user's
      // calls reach their release from the start instead of whichever group an unknown address sat in.
      const learn = () => {
        for (const address of this.unlearned) void this.pings(address, probeTimeoutMs);
      };
      setImmediate(learn);
      this.learnTimer = setInterval(learn, opts.releaseLearnIntervalMs ?? 1_000);
      this.learnTimer.unref();
    }
  }

  /** Records the releases of instances (from the registry); the router regroups them. */
  setReleases(releases: ReadonlyMap<string, string>): void {
    if (!this.releases) return;
    for (const address of releases.keys()) this.unlearned.delete(address);
    this.releases.setReleases(releases);
  }

  setRollout(route: RolloutRoute): void {
    this.releases?.setRollout(route);
  }

  releaseFallbacks(): Record<string, number> {
    return Object.fromEntries(this.releases?.fallbacks ?? []);
  }

  /** The release an instance runs (`stable` when unknown or when the router does not group by release). */
  releaseOf(address: string): string {
    return this.releases?.releaseOf(address) ?? STABLE_RELEASE;
  }

  /** Replaces the instance addresses (discovery); connections of removed instances are closed. */
  setEndpoints(addresses: readonly string[]): void {
    const known = new Set(this.router.endpoints());
    this.router.setEndpoints(addresses);
    const kept = new Set(addresses);
    if (this.releases) {
      for (const address of addresses) if (!known.has(address)) this.unlearned.add(address);
      for (const address of this.unlearned) if (!kept.has(address)) this.unlearned.delete(address);
    }
    for (const [address, connection] of this.connections) {
      if (kept.has(address)) continue;
      this.connections.delete(address);
      connection.subscription?.unsubscribe();
      void connection.client.close();
    }
  }

  /** Instances this client routes to. */
  endpoints(): readonly string[] {
    return this.router.endpoints();
  }

  snapshot(): EndpointSnapshot<string>[] {
    return this.router.snapshot();
  }

  /** Calls one instance and returns the `Reply` value; a `Reply` error is thrown as its AppError. */
  async call<T>(pattern: Pattern, payload: object, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const { tried, userId, served } = options;
    const first = tried?.size ? (this.pickOther(tried, userId) ?? this.router.pick(undefined, userId)) : this.router.pick(undefined, userId);
    tried?.add(first);
    if (served) served.address = first;
    let attempt = await this.attempt<T>(first, pattern, payload, timeoutMs);
    if (!('value' in attempt) && attempt.isConnectRefused && options.retryOnOtherInstance) {
      const second = this.pickOther(new Set([first]), userId);
      if (second !== undefined) {
        if (served) served.address = second;
        attempt = await this.attempt<T>(second, pattern, payload, timeoutMs);
      }
    }
    if (served?.address !== undefined) served.release = this.releaseOf(served.address);
    if ('value' in attempt) return attempt.value;
    throw attempt.error;
  }

  async anyInstanceAnswers(timeoutMs: number): Promise<string> {
    const serving = this.router.snapshot().filter((s) => s.state !== 'ejected').map((s) => s.endpoint);
    const results = await Promise.all(serving.map((address) => this.pings(address, timeoutMs)));
    if (results.includes(true)) return 'ok';
    return `no ${this.service} instance answered ping within ${timeoutMs} ms`;
  }

  async close(): Promise<void> {
    this.prober.dispose();
    clearInterval(this.learnTimer);
    for (const connection of this.connections.values()) {
      connection.subscription?.unsubscribe();
      await connection.client.close();
    }
    this.connections.clear();
  }

  /** Whether an instance answers `Patterns.Ping` with an ok reply within `timeoutMs`. */
  private async pings(address: string, timeoutMs: number): Promise<boolean> {
    try {
      const reply = await this.send<unknown>(address, Patterns.Ping, { meta: { requestId: 'probe' } }, timeoutMs);
      if (isReply(reply) && reply.ok) this.learnRelease(address, reply.value);
      return isReply(reply) && reply.ok;
    } catch (err) {
      if (err instanceof TimeoutError) this.abandonPendingConnect(address);
      return false;
    }
  }

  /** Takes the release an instance names in its ping reply (an instance too old to name one runs `stable`). */
  private learnRelease(address: string, pong: unknown): void {
    if (!this.releases || !this.router.endpoints().includes(address)) return;
    const named = (pong as { release?: unknown } | null)?.release;
    const release = typeof named === 'string' && RELEASE_PATTERN.test(named) ? named : STABLE_RELEASE;
    this.unlearned.delete(address);
    this.releases.setReleases([[address, release]]);
  }

  private pickOther(exclude: ReadonlySet<string>, userId?: string): string | undefined {
    try {
      return this.router.pick(exclude, userId);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.NoHealthyEndpoint) return undefined;
      throw err;
    }
  }

  private async attempt<T>(address: string, pattern: Pattern, payload: object, timeoutMs: number): Promise<Attempt<T>> {
    const startedMs = performance.now();
    try {
      const reply = await this.send<T>(address, pattern, payload, timeoutMs);
      const latencyMs = performance.now() - startedMs;
      if (!isReply(reply)) {
        this.router.report(address, 'server-error', latencyMs, false);
        return { error: serverError(this.service, reply), isConnectRefused: false };
      }
      // A refusal (SOLD_OUT, NOT_FOUND...) is a correct answer; only INTERNAL counts against the instance.
      const isServerError = !reply.ok && reply.error.code === ErrorCode.Internal;
      this.router.report(address, isServerError ? 'server-error' : 'success', latencyMs, false);
      return reply.ok ? { value: reply.value } : { error: AppError.fromWire(reply.error), isConnectRefused: false };
    } catch (err) {
      const failure = classifyFailure(err, this.service, timeoutMs);
      this.router.report(address, failure.outcome, performance.now() - startedMs, failure.isConnectRefused);
      if (failure.outcome === 'timeout') this.abandonPendingConnect(address);
      return failure;
    }
  }

  /** Sends one attempt, its deadline (now + its timeout) in `meta.deadline`: the service drops it once the gateway has given up. */
  private send<T>(address: string, pattern: Pattern, payload: object, timeoutMs: number): Promise<Reply<T>> {
    const withDeadline = withMetaDeadline(payload, Date.now() + timeoutMs);
    const message = this.sign ? this.sign(pattern, withDeadline) : withDeadline;
    return firstValueFrom(this.connection(address).client.send<Reply<T>>(pattern, message).pipe(timeout(timeoutMs)));
  }

  /**
   * ClientTCP has no connect timeout: towards an address that drops packets the connect stays
   * pending for minutes and every call waits on it. Destroying that socket makes the next call dial
   * again. A connected socket is kept: its instance is slow, not gone.
   */
  private abandonPendingConnect(address: string): void {
    const connection = this.connections.get(address);
    if (!connection || connection.isConnected) return;
    try {
      connection.client.unwrap<Socket>().destroy();
    } catch {
      // No socket was created yet: nothing is pending.
    }
  }

  private connection(address: string): Connection {
    const existing = this.connections.get(address);
    if (existing) return existing;
    const client = this.createClient(address);
    const connection: Connection = { client, isConnected: false };
    let lastEvent = '';
    connection.subscription = client.status.subscribe((status) => {
      const wasConnected = connection.isConnected;
      connection.isConnected = status === 'connected';
      // A reconnect may be a restarted instance running another release: ask again.
      if (this.releases && connection.isConnected && !wasConnected && lastEvent !== '') this.unlearned.add(address);
      const event = connection.isConnected ? 'upstream.connected' : 'upstream.disconnected';
      // Log state changes only: a refused connect reports 'disconnected' from both its error and close.
      if (event !== lastEvent) this.logger.log({ event, service: this.service, address });
      lastEvent = event;
    });
    this.connections.set(address, connection);
    return connection;
  }
}

/** The payload with `meta.deadline` set (a copy; a payload without meta is sent as it is). */
function withMetaDeadline(payload: object, deadline: number): object {
  const meta = (payload as { meta?: unknown }).meta;
  if (typeof meta !== 'object' || meta === null) return payload;
  return { ...payload, meta: { ...meta, deadline } };
}

function isReply(value: unknown): value is Reply<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const reply = value as { ok?: unknown; error?: { code?: unknown } };
  return reply.ok === true || (reply.ok === false && typeof reply.error?.code === 'string');
}

/**
 * The default factory: a Nest TCP client for `host:port` (IPv6 hosts in brackets); with `tls.ca`,
 * over TLS, the service's certificate verified against that CA and the address's host.
 */
export function tcpClient(address: string, tls: { ca?: string } = {}): ClientProxy {
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  const tlsOptions = tls.ca ? { tlsOptions: { ca: tls.ca, servername: isIP(host) ? undefined : host } } : {};
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host, port: Number(address.slice(split + 1)), ...tlsOptions } });
  // Many small requests go out at once on one connection: without TCP_NODELAY, Nagle's algorithm
  // holds each but the first until an ACK comes. `on` is kept for every socket the client opens.
  (client as unknown as { on(event: 'connect', listener: () => void): void }).on('connect', () => client.unwrap<Socket>().setNoDelay(true));
  return client;
}
