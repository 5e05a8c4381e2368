import { Logger } from '@nestjs/common';
import { AppError, ErrorCode, Flags, serviceShedFlag, type Pattern } from '@app/contracts';
import {
  BreakerRegistry,
  ClientThrottle,
  compose,
  countsAsFailure,
  RetryBudget,
  retry,
  StaleCache,
  SuccessRateGate,
  TimeoutClasses,
  type BreakerSnapshot,
  type BulkheadSnapshot,
  type Policy,
  type PolicyContext,
  type RetryPolicy,
  type TimeoutClassName,
} from '@app/resilience';
import { SuccessRateWindow, type EndpointSnapshot, type RolloutRoute } from '@app/routing';
import type { GatewayConfig } from '../config/gateway.config.js';
import { isOverloadAnswer } from '../errors/overload-answer.js';
import type { CallOptions, Upstream } from '../upstream/upstream.client.js';
import { routeSpec, type StaleRule } from './route-table.js';

/** The services the policies protect. */
export type PolicedService = 'query' | 'delivery';

/** What the policies read flags from (the gateway's FlagCache). */
export interface FlagSource {
  isEnabled(name: string): boolean;
}

/** Calls in a service's window before the retry gate judges its success rate. */
const GATE_MIN_REQUESTS = 10;
/** Most compiled (route, timeout) policies kept per service; callers with odd timeouts beyond it compile per call. */
const MAX_COMPILED = 256;

/**
 * The gateway's resilience policies, one set per process: the two timeout classes (each with its
 * own bulkhead), one circuit breaker per protected route, and per service a gated, budgeted retry
 * for reads and a stale cache. `wrap()` puts them around a service's {@link Upstream}.
 */
export class ResiliencePolicies {
  private readonly logger = new Logger('Resilience');
  readonly classes: TimeoutClasses;
  readonly breakers: BreakerRegistry;
  private readonly wrapped: PolicedUpstream[] = [];

  constructor(
    private readonly config: Pick<GatewayConfig, 'timeouts' | 'resilience'>,
    private readonly flags: FlagSource,
  ) {
    const { bulkheads, breaker } = config.resilience;
    this.classes = new TimeoutClasses({
      fast: { timeoutMs: config.timeouts.fastMs, ...bulkheads.fast },
      slow: { timeoutMs: config.timeouts.slowMs, ...bulkheads.slow },
    });
    this.breakers = new BreakerRegistry({
      failureThresholdPercent: breaker.failureThresholdPercent,
      volumeThreshold: breaker.volumeThreshold,
      rollingWindowMs: breaker.rollingWindowMs,
      halfOpenAfterMs: breaker.halfOpenAfterMs,
    });
    this.breakers.onStateChange((change) => this.logger.warn({ event: `breaker.${change.to}`, breaker: change.name, from: change.from }));
  }

  get isEnabled(): boolean {
    return this.config.resilience.isEnabled;
  }

  /** `service`'s upstream behind the policies (or bare, with `RESILIENCE_POLICIES=off`, but still shed by flag). */
  wrap(service: PolicedService, upstream: Upstream): PolicedUpstream {
    const policed = new PolicedUpstream(service, upstream, this, this.config, this.flags);
    this.wrapped.push(policed);
    return policed;
  }

  /** Breakers of every route called so far (`GET /admin/breakers`). */
  snapshot(): BreakerSnapshot[] {
    return this.breakers.snapshot();
  }

  /** Bulkhead counters of both classes. */
  bulkheads(): BulkheadSnapshot[] {
    return this.classes.snapshot();
  }

  /** Retry counters per service, for tests and admin views. */
  retries(): Record<string, RetryCounters> {
    return Object.fromEntries(this.wrapped.map((w) => [w.service, { ...w.counters }]));
  }

  dispose(): void {
    this.breakers.dispose();
  }
}

/** What one service's retry layer did since start. */
export interface RetryCounters {
  /** Calls of idempotent routes (each counted once, whatever its attempts). */
  requests: number;
  retries: number;
  /** Retries refused because the service's success rate was below the gate. */
  gated: number;
  /** Retries refused because the budget was spent. */
  overBudget: number;
  /** Reads answered from the stale cache because the service could not answer. */
  stale: number;
  /** Calls refused at once by the `service.{name}.shed` flag. */
  shed: number;
  /** Calls refused locally by client-side throttling (the service refused or timed out most recent calls). */
  throttled: number;
}

/** One route's policy, compiled once: `retry → bulkhead(class) → breaker(route) → timeout(class)`. */
interface CompiledRoute {
  policy: Policy;
  timeoutMs: number;
  stale: StaleRule;
  idempotent: boolean;
}

/**
 * One service behind the policies. Each call: shed flag (503 at once) → client-side throttling
 * (adaptive admission: refused locally with the SRE probability) → the route's compiled policy around
 * one attempt on an instance (a retry excludes the instances already tried) → for reads that allow
 * it, the last good value when the service cannot answer.
 */
export class PolicedUpstream implements Upstream {
  private readonly compiled = new Map<string, CompiledRoute>();
  /** Outcomes of every attempt to this service, for the retry gate. */
  private readonly window = new SuccessRateWindow({ windowMs: 10_000, buckets: 10 });
  private readonly gate: SuccessRateGate;
  private readonly budget: RetryBudget;
  private readonly stale: StaleCache<unknown>;
  private readonly shedFlag: string;
  /** SRE client-side throttling of this gateway's calls to the service (adaptive admission only). */
  private readonly throttle: ClientThrottle | undefined;
  readonly counters: RetryCounters = { requests: 0, retries: 0, gated: 0, overBudget: 0, stale: 0, shed: 0, throttled: 0 };

  constructor(
    readonly service: PolicedService,
    private readonly inner: Upstream,
    private readonly policies: ResiliencePolicies,
    private readonly config: Pick<GatewayConfig, 'timeouts' | 'resilience'>,
    private readonly flags: FlagSource,
  ) {
    const { retry: r } = config.resilience;
    this.gate = new SuccessRateGate({ successRate: this.successRate, minSuccessRate: r.minSuccessRate });
    this.budget = new RetryBudget({ ratio: r.budgetRatio, minRetriesPerSecond: r.budgetMinPerS });
    this.stale = new StaleCache({ maxEntries: config.resilience.staleMaxEntries });
    this.shedFlag = serviceShedFlag(service);
    const { admission } = config.resilience;
    if (admission.mode === 'adaptive' && admission.clientThrottleK > 0) this.throttle = new ClientThrottle({ k: admission.clientThrottleK });
  }

  call<T>(pattern: Pattern, payload: object, options: CallOptions = {}): Promise<T> {
    if (this.flags.isEnabled(this.shedFlag)) {
      this.counters.shed++;
      return Promise.reject(new AppError(ErrorCode.ServiceUnavailable, `${this.service} service is shedding load; try again later`, { retryAfterS: 1 }));
    }
    const route = this.route(pattern, options.route ?? pattern, options.timeoutClass, options.timeoutMs);
    if (!this.policies.isEnabled) {
      return this.inner.call<T>(pattern, payload, { ...options, timeoutMs: route.timeoutMs, retryOnOtherInstance: options.retryOnOtherInstance ?? route.idempotent });
    }
    const timeoutMs = route.timeoutMs;
    let tried: Set<string> | undefined;
    if (route.idempotent) {
      tried = new Set<string>();
      this.counters.requests++;
    }
    const load = (): Promise<T> => {
      // Refused here like a failed call, so a read may still be answered from its last good value.
      if (this.throttle?.shouldThrottle()) {
        this.counters.throttled++;
        return Promise.reject(new AppError(ErrorCode.ServiceUnavailable, `${this.service} service is refusing most calls; try again later`, { retryAfterS: 1, overloaded: true }));
      }
      return route.policy.execute((_ctx: PolicyContext) => this.attempt<T>(pattern, payload, { route: options.route, timeoutMs, retryOnOtherInstance: false, tried, userId: options.userId, served: options.served }));
    };
    if (route.stale === 'never') return load();
    const allowStale = route.stale === 'always' || this.flags.isEnabled(Flags.QueryServeStale);
    return this.stale.readThrough(staleKey(pattern, payload), load, { allowStale }).then((served) => {
      if (served.stale) this.counters.stale++;
      return served.value as T;
    });
  }

  anyInstanceAnswers(timeoutMs: number): Promise<string> {
    return this.inner.anyInstanceAnswers(timeoutMs);
  }

  snapshot(): EndpointSnapshot<string>[] {
    return this.inner.snapshot?.() ?? [];
  }

  setRollout(route: RolloutRoute): void {
    this.inner.setRollout?.(route);
  }

  releaseFallbacks(): Record<string, number> {
    return this.inner.releaseFallbacks?.() ?? {};
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Recent success rate of this service's attempts; undefined while there is too little data. */
  private readonly successRate = (): number | undefined => {
    const now = Date.now();
    return this.window.requests(now) < GATE_MIN_REQUESTS ? undefined : this.window.successRate(now);
  };

  private attempt<T>(pattern: Pattern, payload: object, options: CallOptions): Promise<T> {
    return this.inner.call<T>(pattern, payload, options).then(
      (value) => {
        this.window.record(Date.now(), true, 0);
        this.throttle?.recordOutcome(true);
        return value;
      },
      (err: unknown) => {
        this.window.record(Date.now(), !countsAsFailure(err), 0);
        this.throttle?.recordOutcome(!isOverloadAnswer(err));
        throw err;
      },
    );
  }

  private route(pattern: Pattern, name: string, timeoutClass: TimeoutClassName | undefined, capMs: number | undefined): CompiledRoute {
    const key = timeoutClass === undefined && capMs === undefined ? name : `${name}|${timeoutClass ?? ''}|${capMs ?? ''}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const compiled = this.compile(pattern, name, timeoutClass, capMs);
    if (this.compiled.size < MAX_COMPILED) this.compiled.set(key, compiled);
    return compiled;
  }

  private compile(pattern: Pattern, name: string, timeoutClass: TimeoutClassName | undefined, capMs: number | undefined): CompiledRoute {
    const spec = routeSpec(pattern, name, this.config.resilience.routes);
    const clsName = timeoutClass ?? spec.timeoutClass;
    const classMs = spec.timeoutMs ?? (clsName === 'fast' ? this.config.timeouts.fastMs : this.config.timeouts.slowMs);
    const timeoutMs = capMs === undefined ? classMs : Math.min(capMs, classMs);
    if (!this.policies.isEnabled) return { policy: passThrough, timeoutMs, stale: spec.stale, idempotent: spec.idempotent };
    const cls = this.policies.classes.get(clsName);
    const layers: Policy[] = [];
    if (spec.idempotent && this.config.resilience.retry.maxAttempts > 1) layers.push(this.retryPolicy());
    // With adaptive admission the gateway's door bounds concurrency per service; the static class bulkheads are for comparison.
    if (this.config.resilience.admission.mode === 'static') layers.push(cls.bulkhead);
    layers.push(this.policies.breakers.for(`${this.service}.${name}`), this.policies.classes.timeout(clsName, timeoutMs));
    return { policy: compose(...layers), timeoutMs, stale: spec.stale, idempotent: spec.idempotent };
  }

  private retryPolicy(): RetryPolicy {
    const policy = retry({ idempotent: true, maxAttempts: this.config.resilience.retry.maxAttempts, gate: this.gate, budget: this.budget });
    const counters = this.counters;
    policy.onRetry(() => counters.retries++);
    policy.onSuppressed(({ reason }) => (reason === 'gate' ? counters.gated++ : counters.overBudget++));
    return policy;
  }
}

/** The policy of every route with `RESILIENCE_POLICIES=off` (never executed: calls go bare). */
const passThrough: Policy = { execute: (fn) => fn({ signal: new AbortController().signal, attempt: 1 }) };

/** Key of a read's last good value: the pattern and the request's fields (not its meta). */
export function staleKey(pattern: string, payload: object): string {
  let key = pattern;
  for (const [name, value] of Object.entries(payload)) {
    if (name === 'meta') continue;
    key += `|${name}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
  }
  return key;
}
