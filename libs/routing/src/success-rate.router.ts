import { systemClock, type Clock } from './clock.js';
import { EndpointStats } from './endpoint.js';
import { EjectionPolicy, type EjectionOptions, type EjectionReason } from './ejection.policy.js';
import { NoHealthyEndpointError } from './errors/no-healthy-endpoint.error.js';
import type { CallOutcome, EndpointSnapshot, Router } from './router.js';
import type { SuccessRateWindowOptions } from './success-rate.window.js';

/** How a probing instance is tried before it is readmitted. */
export type ProbeMode = 'active' | 'trickle';

/** Options of {@link SuccessRateRouter}. */
export interface SuccessRateRouterOptions extends Partial<EjectionOptions>, SuccessRateWindowOptions {
  /** Name used in errors and events, e.g. the service name. Default `'upstream'`. */
  name?: string;
  /**
   * `active` (default): a probing instance gets no user traffic; a {@link ProbeScheduler} pings it
   * and reports with `reportProbe`. `trickle`: it gets one user request at a time.
   */
  probeMode?: ProbeMode;
  /** Weight (0–1) of the newest latency in the latency average. Default 0.3. */
  latencyEwmaWeight?: number;
  /**
   * Latency at which an instance's load score doubles, in ms. Default 50. Small differences
   * between healthy instances (a few ms) then barely move the choice, which stays close to
   * least-outstanding-requests; a slow instance (hundreds of ms) is clearly avoided.
   */
  latencyReferenceMs?: number;
  /**
   * Asked before an ejection the share rule would refuse: whether every instance may be out at once.
   * Default never: the last instances stay in. A release group other than stable answers yes while a
   * stable group exists, because its caller ({@link ReleaseRouter}) then falls back to that group.
   */
  mayEjectAll?: () => boolean;
  /** Time source. Default the real clock. */
  clock?: Clock;
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Emitted when an instance is taken out. */
export interface EjectedEvent<E> {
  service: string;
  endpoint: E;
  reason: EjectionReason | 'probe-failed';
  ejectedForMs: number;
  ejections: number;
  successRate: number;
  requests: number;
}

/** Emitted when a probing instance is healthy again. */
export interface ReadmittedEvent<E> {
  service: string;
  endpoint: E;
  probeSuccesses: number;
}

type Listener<T> = (event: T) => void;

/**
 * L5-style success-rate routing. Each instance has a sliding window of outcomes and latencies.
 * - Healthy instances are chosen by power of two choices: two at random, the lower load score
 *   wins. The score grows with calls in flight and average latency and falls with success rate,
 *   so traffic is weighted away from slow or failing instances before they are ejected.
 * - {@link EjectionPolicy} decides ejection after every failure; at most its share of instances
 *   is out at once. An ejected instance returns as `probing` when its time is up (checked lazily
 *   on every pick, snapshot and probe sweep: no timers here), then is readmitted after K good
 *   probes with a clean window, or ejected again for longer.
 * - If no healthy instance is left to choose (discovery removed them), it picks among the
 *   others rather than fail: Envoy's panic mode.
 */
export class SuccessRateRouter<E> implements Router<E> {
  readonly name: string;
  readonly policy: EjectionPolicy;
  private readonly probeMode: ProbeMode;
  private readonly mayEjectAll: () => boolean;
  private readonly ewmaWeight: number;
  private readonly latencyReferenceMs: number;
  private readonly windowOptions: SuccessRateWindowOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private list: EndpointStats<E>[] = [];
  private byEndpoint = new Map<E, EndpointStats<E>>();
  private endpointList: readonly E[] = [];
  /** Reused between picks so choosing allocates nothing. */
  private readonly candidates: EndpointStats<E>[] = [];
  private readonly ejectedListeners: Listener<EjectedEvent<E>>[] = [];
  private readonly readmittedListeners: Listener<ReadmittedEvent<E>>[] = [];

  constructor(endpoints: readonly E[], options: SuccessRateRouterOptions = {}) {
    this.name = options.name ?? 'upstream';
    this.policy = new EjectionPolicy(options);
    this.probeMode = options.probeMode ?? 'active';
    this.mayEjectAll = options.mayEjectAll ?? (() => false);
    this.ewmaWeight = options.latencyEwmaWeight ?? 0.3;
    this.latencyReferenceMs = options.latencyReferenceMs ?? 50;
    this.windowOptions = { windowMs: options.windowMs, buckets: options.buckets };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.setEndpoints(endpoints);
  }

  /** Listens to ejections; returns a function that stops listening. */
  onEjected(listener: Listener<EjectedEvent<E>>): () => void {
    return subscribe(this.ejectedListeners, listener);
  }

  /** Listens to readmissions; returns a function that stops listening. */
  onReadmitted(listener: Listener<ReadmittedEvent<E>>): () => void {
    return subscribe(this.readmittedListeners, listener);
  }

  pick(exclude?: ReadonlySet<E>): E {
    const now = this.clock.now();
    const candidates = this.candidates;
    candidates.length = 0;
    let trickle: EndpointStats<E> | undefined;
    for (const stats of this.list) {
      this.refresh(stats, now);
      if (exclude?.has(stats.endpoint)) continue;
      if (stats.state === 'healthy') candidates.push(stats);
      else if (stats.state === 'probing' && this.probeMode === 'trickle' && !stats.isProbeOut) trickle ??= stats;
    }
    let chosen: EndpointStats<E> | undefined;
    if (trickle) {
      trickle.isProbeOut = true;
      chosen = trickle;
    } else if (candidates.length === 1) chosen = candidates[0];
    else if (candidates.length > 1) chosen = this.powerOfTwo(candidates, now);
    else chosen = this.panic(exclude);
    candidates.length = 0;
    if (!chosen) throw new NoHealthyEndpointError(this.name);
    chosen.inflight++;
    return chosen.endpoint;
  }

  report(endpoint: E, outcome: CallOutcome, latencyMs: number, isConnectRefused = false): void {
    const stats = this.byEndpoint.get(endpoint);
    if (!stats) return;
    const now = this.clock.now();
    const isSuccess = outcome === 'success';
    if (stats.inflight > 0) stats.inflight--;
    stats.window.record(now, isSuccess, latencyMs);
    stats.latencyEwmaMs = stats.latencyEwmaMs === 0 ? latencyMs : stats.latencyEwmaMs + this.ewmaWeight * (latencyMs - stats.latencyEwmaMs);
    stats.consecutiveFailures = isSuccess ? 0 : stats.consecutiveFailures + 1;
    this.refresh(stats, now);
    if (stats.state === 'healthy') {
      if (!isSuccess) this.judge(stats, now, isConnectRefused);
    } else if (stats.state === 'probing' && this.probeMode === 'trickle' && stats.isProbeOut) {
      stats.isProbeOut = false;
      this.probeResult(stats, now, isSuccess);
    }
    // Late answers from an ejected instance (sent before it was ejected) only feed its window.
  }

  hasHealthy(exclude?: ReadonlySet<E>): boolean {
    const now = this.clock.now();
    for (const stats of this.list) {
      this.refresh(stats, now);
      if (stats.state === 'healthy' && !exclude?.has(stats.endpoint)) return true;
    }
    return false;
  }

  probeTargets(): readonly E[] {
    if (this.probeMode !== 'active') return [];
    const now = this.clock.now();
    const due: E[] = [];
    for (const stats of this.list) {
      this.refresh(stats, now);
      if (stats.state === 'probing' && !stats.isProbeOut) {
        stats.isProbeOut = true;
        due.push(stats.endpoint);
      }
    }
    return due;
  }

  reportProbe(endpoint: E, isOk: boolean): void {
    const stats = this.byEndpoint.get(endpoint);
    if (!stats) return;
    stats.isProbeOut = false;
    const now = this.clock.now();
    this.refresh(stats, now);
    if (stats.state === 'probing') this.probeResult(stats, now, isOk);
  }

  endpoints(): readonly E[] {
    return this.endpointList;
  }

  setEndpoints(endpoints: readonly E[]): void {
    const next = new Map<E, EndpointStats<E>>();
    for (const endpoint of endpoints) {
      if (next.has(endpoint)) continue;
      next.set(endpoint, this.byEndpoint.get(endpoint) ?? new EndpointStats(endpoint, this.windowOptions));
    }
    this.byEndpoint = next;
    this.list = [...next.values()];
    this.endpointList = Object.freeze([...next.keys()]);
  }

  snapshot(): EndpointSnapshot<E>[] {
    const now = this.clock.now();
    return this.list.map((stats) => {
      this.refresh(stats, now);
      const snapshot: EndpointSnapshot<E> = {
        endpoint: stats.endpoint,
        state: stats.state,
        successRate: stats.window.successRate(now),
        requests: stats.window.requests(now),
        p99Ms: stats.window.p99Ms(now),
        ejections: stats.totalEjections,
      };
      if (stats.state === 'ejected') snapshot.ejectedForMs = Math.max(0, Math.round(stats.ejectedUntil - now));
      return snapshot;
    });
  }

  /**
   * Lower is better: in-flight calls push it up, latency beyond the reference pushes it up, and
   * failures push it up sharply. Latency is a damped factor on purpose: a raw multiplicative
   * latency term made the two choices herd onto whichever instance had answered a little faster
   * lately, costing a quarter of the gateway's throughput (bench/routing-overhead).
   */
  private score(stats: EndpointStats<E>, now: number): number {
    const rate = stats.window.successRate(now);
    return ((stats.inflight + 1) * (1 + stats.latencyEwmaMs / this.latencyReferenceMs)) / (rate * rate + 0.01);
  }

  private powerOfTwo(candidates: EndpointStats<E>[], now: number): EndpointStats<E> {
    const n = candidates.length;
    const i = Math.floor(this.random() * n) % n;
    let j = Math.floor(this.random() * (n - 1)) % (n - 1);
    if (j >= i) j++;
    const a = candidates[i];
    const b = candidates[j];
    return this.score(b, now) < this.score(a, now) ? b : a;
  }

  /** No healthy instance left to choose: probing first, then the one whose ejection ends soonest. */
  private panic(exclude?: ReadonlySet<E>): EndpointStats<E> | undefined {
    let best: EndpointStats<E> | undefined;
    for (const stats of this.list) {
      if (exclude?.has(stats.endpoint)) continue;
      if (!best || rank(stats) < rank(best)) best = stats;
    }
    return best;
  }

  private refresh(stats: EndpointStats<E>, now: number): void {
    if (stats.state === 'ejected' && now >= stats.ejectedUntil) {
      stats.state = 'probing';
      stats.probeSuccesses = 0;
      stats.isProbeOut = false;
    }
  }

  private judge(stats: EndpointStats<E>, now: number, isConnectRefused: boolean): void {
    const reason = this.policy.reasonToEject({
      requests: stats.window.requests(now),
      successRate: stats.window.successRate(now),
      consecutiveFailures: stats.consecutiveFailures,
      isConnectRefused,
    });
    if (!reason || !(this.policy.mayEject(this.outCount(), this.list.length) || this.mayEjectAll())) return;
    stats.ejectionsInRow = this.policy.decayedEjections(stats.ejectionsInRow, now - stats.healthySince) + 1;
    this.eject(stats, now, reason);
  }

  private probeResult(stats: EndpointStats<E>, now: number, isOk: boolean): void {
    if (!isOk) {
      stats.ejectionsInRow++;
      this.eject(stats, now, 'probe-failed');
      return;
    }
    stats.probeSuccesses++;
    if (!this.policy.isReadmitted(stats.probeSuccesses)) return;
    stats.state = 'healthy';
    stats.healthySince = now;
    stats.consecutiveFailures = 0;
    stats.latencyEwmaMs = 0;
    stats.window.reset();
    this.emit(this.readmittedListeners, { service: this.name, endpoint: stats.endpoint, probeSuccesses: stats.probeSuccesses });
  }

  private eject(stats: EndpointStats<E>, now: number, reason: EjectedEvent<E>['reason']): void {
    const ejectedForMs = this.policy.ejectionMs(stats.ejectionsInRow);
    stats.state = 'ejected';
    stats.ejectedUntil = now + ejectedForMs;
    stats.totalEjections++;
    stats.probeSuccesses = 0;
    stats.isProbeOut = false;
    this.emit(this.ejectedListeners, {
      service: this.name,
      endpoint: stats.endpoint,
      reason,
      ejectedForMs,
      ejections: stats.totalEjections,
      successRate: stats.window.successRate(now),
      requests: stats.window.requests(now),
    });
  }

  private outCount(): number {
    let out = 0;
    for (const stats of this.list) if (stats.state !== 'healthy') out++;
    return out;
  }

  private emit<T>(listeners: Listener<T>[], event: T): void {
    for (const listener of listeners) listener(event);
  }
}

function rank(stats: EndpointStats<unknown>): number {
  return stats.state === 'healthy' ? 0 : stats.state === 'probing' ? 1 : 2 + stats.ejectedUntil;
}

function subscribe<T>(listeners: Listener<T>[], listener: Listener<T>): () => void {
  listeners.push(listener);
  return () => {
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  };
}
