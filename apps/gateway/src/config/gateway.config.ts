import { deepFreeze, EnvReader, readCommonConfig, type CommonConfig } from '@app/platform';
import type { EjectionOptions } from '@app/routing';
import { parseDnsTarget } from '../upstream/dns.discovery.js';

/** An allowed browser origin: `scheme://host[:port]`, where the port may be `*` (any port). */
const ORIGIN_PATTERN = /^https?:\/\/(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}|\*))?$/;

export type GatewayConfig = Readonly<
  CommonConfig & {
    /** Interface the HTTP server binds to. Default 127.0.0.1. */
    host: string;
    /** HTTP port. Default 3000. */
    port: number;
    /** `host:port` TCP addresses of the query instances. */
    queryUpstreams: readonly string[];
    /** `host:port` TCP addresses of the delivery instances. */
    deliveryUpstreams: readonly string[];
    /** HS256 secret of user tokens (at least 32 bytes). Never logged. */
    jwtSecret: string;
    /** Bearer token of `/admin/*` (at least 24 characters). Never logged. */
    adminToken: string;
    /** How long an order event-stream ticket is valid, in s. Default 60 (the contract's). */
    eventTicketTtlS: number;
    /** Origins allowed to call `/api/*` from a browser; a port may be `*`. Default none. */
    corsOrigins: readonly string[];
    timeouts: Readonly<{
      /** Budget of a read call to a service, in ms. Default 300. */
      fastMs: number;
      /** Budget of a claim or publish call, in ms. Default 3000. */
      slowMs: number;
    }>;
    /** Largest request body accepted, in bytes. Default 16384. */
    bodyLimitBytes: number;
    routing: RoutingConfig;
    resilience: ResilienceConfig;
    /** Backup instance groups, used while the primary group has no healthy instance (`*_BACKUP_UPSTREAMS`). Default none. */
    backupUpstreams: Readonly<{ query: readonly string[]; delivery: readonly string[] }>;
    /** New claims per user per second, across every gateway (`CLAIM_RATE_LIMIT_PER_S`); 0 turns it off. Default 5. */
    claimRateLimitPerS: number;
    soldOutLatch: Readonly<{
      /** `SOLD_OUT_LATCH=on|off`: answer claims of a sold-out gift 409 SOLD_OUT from the local latch (on), or always through Redis and delivery (off, for comparison). Default on. */
      isEnabled: boolean;
      /** How often every latch is re-read from Redis besides the announcements (`SOLD_OUT_LATCH_RESYNC_MS`), in ms. Default 5000. */
      resyncMs: number;
    }>;
    discovery: Readonly<{
      /** Whether instances registered in Redis are added to the static lists (`DISCOVERY_ENABLED`). Default true. */
      isEnabled: boolean;
      /** How often the registry is read, in ms (`DISCOVERY_REFRESH_MS`). Default 1000. */
      refreshMs: number;
    }>;
    /**
     * Kubernetes headless Services resolved (A records) into instances, `name:port`
     * (`QUERY_DNS`, `DELIVERY_DNS`), added to the static lists and the registry. Default none.
     */
    dnsDiscovery: Readonly<{ query?: string; delivery?: string }>;
  }
>;

/**
 * How the gateway chooses instances (`ROUTING_*`): the ejection thresholds of libs/routing
 * (`ROUTING_MAX_EJECTION_PERCENT` gives `maxEjectionShare`), plus the gateway's own settings.
 */
export type RoutingConfig = Readonly<
  EjectionOptions & {
    /** `success-rate` (default) or `round-robin` (for comparison). */
    mode: 'success-rate' | 'round-robin';
    /** Length of the per-instance window, in ms. Default 10000. */
    windowMs: number;
    /** Buckets of the window. Default 10. */
    windowBuckets: number;
    /** `active` (ping probes, default) or `trickle` (one user request at a time). */
    probeMode: 'active' | 'trickle';
    /** Time between active probe sweeps, in ms. Default 500. */
    probeIntervalMs: number;
  }
>;

/** A per-route override from `ROUTE_POLICIES` (`route=class[:timeoutMs]`). */
export type RouteOverride = Readonly<{ timeoutClass: 'fast' | 'slow'; timeoutMs?: number }>;

/** Timeout classes, bulkheads, breakers, retries and failover of upstream calls (`RESILIENCE_*`, `BULKHEAD_*`, `BREAKER_*`, `RETRY_*`). */
export type ResilienceConfig = Readonly<{
  /** `RESILIENCE_POLICIES=on|off`: off calls upstreams bare (one timeout per call, no bulkhead, breaker or gated retry), for comparison. Default on. */
  isEnabled: boolean;
  bulkheads: Readonly<Record<'fast' | 'slow', Readonly<{ maxConcurrent: number; maxQueued: number }>>>;
  /** Per-route class and timeout overrides, by route name (see `policies/route-table.ts`). */
  routes: Readonly<Record<string, RouteOverride>>;
  breaker: Readonly<{ failureThresholdPercent: number; volumeThreshold: number; rollingWindowMs: number; halfOpenAfterMs: number }>;
  retry: Readonly<{ maxAttempts: number; minSuccessRate: number; budgetRatio: number; budgetMinPerS: number }>;
  /** Last good values kept per gateway for stale reads. */
  staleMaxEntries: number;
  admission: AdmissionConfig;
  failover: Readonly<{
    /** Consecutive failed calls to the primary group (with none healthy) that move traffic to the backup. Default 5. */
    afterFailures: number;
    /** Consecutive probe sweeps with a primary instance answering that move traffic back. Default 3. */
    recoverAfterProbes: number;
    /** Time between probe sweeps of the primary while on the backup, in ms. Default 500. */
    probeIntervalMs: number;
  }>;
}>;

/** Admission control of user requests (`ADMISSION_*`, `CLIENT_THROTTLE_K`); see apps/gateway/src/admission. */
export type AdmissionConfig = Readonly<{
  /**
   * `adaptive` (default): per upstream service, a latency-moved concurrency limit with class priorities
   * and user cohorts decides at the door, before any work; the class bulkheads are off. `static`: the
   * class bulkheads of `BULKHEAD_*` shed instead (the behaviour before admission control, for comparison).
   */
  mode: 'adaptive' | 'static';
  /** First limit of each service before any latency is measured. Default 64. */
  initialLimit: number;
  /** Limits never go below / above these. Default 32 / 2000. */
  minLimit: number;
  maxLimit: number;
  /** Mean latency of admitted requests (ms) above which a limit backs off whatever its baseline. Default 1000. */
  maxLatencyMs: number;
  /** How many times its baseline latency may grow before a limit gives way (≥ 1). Default 10. */
  tolerance: number;
  /** The SRE client-throttling K on the gateway→service hop; 0 turns client throttling off. Default 2. */
  clientThrottleK: number;
  /** Event-loop lag (ms) above which the gateway counts itself overloaded and sheds by priority (DAGOR's 20 ms). Default 20. */
  loopDelayMs: number;
}>;

/** Injection token of the frozen {@link GatewayConfig}. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/**
 * Reads and checks the gateway's environment once, at start-up.
 * @throws ConfigError naming every bad variable (secrets by name only).
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const reader = new EnvReader(env);
  const corsOrigins = reader.list('CORS_ORIGINS', '');
  const badOrigins = corsOrigins.filter((origin) => !ORIGIN_PATTERN.test(origin));
  if (badOrigins.length) {
    reader.problems.push(`CORS_ORIGINS must be comma-separated http(s)://host[:port|:*] origins (bad: "${badOrigins.join('", "')}")`);
  }
  const config = {
    ...readCommonConfig(reader),
    host: reader.string('HOST', { fallback: '127.0.0.1' }),
    port: reader.int('PORT', { min: 1, max: 65535, fallback: 3000 }),
    queryUpstreams: reader.addresses('QUERY_UPSTREAMS', '127.0.0.1:4001,127.0.0.1:4002'),
    deliveryUpstreams: reader.addresses('DELIVERY_UPSTREAMS', '127.0.0.1:4101,127.0.0.1:4102'),
    jwtSecret: reader.secret('JWT_SECRET', { minLength: 32 }),
    adminToken: reader.secret('ADMIN_TOKEN', { minLength: 24 }),
    eventTicketTtlS: reader.int('EVENT_TICKET_TTL_S', { min: 1, max: 3_600, fallback: 60 }),
    corsOrigins,
    timeouts: {
      fastMs: reader.int('TIMEOUT_FAST_MS', { min: 1, max: 60_000, fallback: 300 }),
      slowMs: reader.int('TIMEOUT_SLOW_MS', { min: 1, max: 600_000, fallback: 3_000 }),
    },
    bodyLimitBytes: reader.int('BODY_LIMIT_BYTES', { min: 1_024, max: 10_485_760, fallback: 16_384 }),
    routing: readRouting(reader),
    resilience: readResilience(reader),
    backupUpstreams: {
      query: reader.addresses('QUERY_BACKUP_UPSTREAMS', '', { allowEmpty: true }),
      delivery: reader.addresses('DELIVERY_BACKUP_UPSTREAMS', '', { allowEmpty: true }),
    },
    claimRateLimitPerS: reader.int('CLAIM_RATE_LIMIT_PER_S', { min: 0, max: 1_000_000, fallback: 5 }),
    soldOutLatch: {
      isEnabled: reader.string('SOLD_OUT_LATCH', { fallback: 'on', pattern: /^(on|off)$/, hint: 'on or off' }) === 'on',
      resyncMs: reader.int('SOLD_OUT_LATCH_RESYNC_MS', { min: 100, max: 600_000, fallback: 5_000 }),
    },
    discovery: {
      isEnabled: reader.boolean('DISCOVERY_ENABLED', true),
      refreshMs: reader.int('DISCOVERY_REFRESH_MS', { min: 100, max: 60_000, fallback: 1_000 }),
    },
    dnsDiscovery: {
      query: dnsTarget(reader, 'QUERY_DNS'),
      delivery: dnsTarget(reader, 'DELIVERY_DNS'),
    },
  };
  reader.finish('gateway');
  return deepFreeze(config);
}

function readRouting(reader: EnvReader): RoutingConfig {
  const routing = {
    mode: reader.string('ROUTING_MODE', { fallback: 'success-rate', pattern: /^(success-rate|round-robin)$/, hint: 'success-rate or round-robin' }) as RoutingConfig['mode'],
    windowMs: reader.int('ROUTING_WINDOW_MS', { min: 100, max: 3_600_000, fallback: 10_000 }),
    windowBuckets: reader.int('ROUTING_WINDOW_BUCKETS', { min: 1, max: 600, fallback: 10 }),
    ejectBelowRate: reader.number('ROUTING_EJECT_BELOW_RATE', { min: 0, max: 1, fallback: 0.5 }),
    minRequests: reader.int('ROUTING_MIN_REQUESTS', { min: 1, max: 1_000_000, fallback: 10 }),
    consecutiveFailures: reader.int('ROUTING_CONSECUTIVE_FAILURES', { min: 1, max: 1_000, fallback: 5 }),
    maxEjectionShare: reader.int('ROUTING_MAX_EJECTION_PERCENT', { min: 0, max: 100, fallback: 50 }) / 100,
    baseEjectionMs: reader.int('ROUTING_BASE_EJECTION_MS', { min: 100, max: 3_600_000, fallback: 5_000 }),
    maxEjectionMs: reader.int('ROUTING_MAX_EJECTION_MS', { min: 100, max: 86_400_000, fallback: 300_000 }),
    readmitAfterSuccesses: reader.int('ROUTING_READMIT_SUCCESSES', { min: 1, max: 100, fallback: 3 }),
    probeMode: reader.string('ROUTING_PROBE_MODE', { fallback: 'active', pattern: /^(active|trickle)$/, hint: 'active or trickle' }) as RoutingConfig['probeMode'],
    probeIntervalMs: reader.int('ROUTING_PROBE_INTERVAL_MS', { min: 50, max: 600_000, fallback: 500 }),
  };
  if (routing.maxEjectionMs < routing.baseEjectionMs) reader.problems.push('ROUTING_MAX_EJECTION_MS must be at least ROUTING_BASE_EJECTION_MS');
  if (routing.windowBuckets > routing.windowMs) reader.problems.push('ROUTING_WINDOW_BUCKETS must not exceed ROUTING_WINDOW_MS (buckets of at least 1 ms)');
  return routing;
}

const ROUTE_OVERRIDE = /^([A-Za-z0-9._-]+)=(fast|slow)(?::(\d{1,7}))?$/;

function readResilience(reader: EnvReader): ResilienceConfig {
  const mode = reader.string('RESILIENCE_POLICIES', { fallback: 'on', pattern: /^(on|off)$/, hint: 'on or off' });
  const routes: Record<string, RouteOverride> = {};
  for (const item of reader.list('ROUTE_POLICIES', '')) {
    const match = ROUTE_OVERRIDE.exec(item);
    if (!match || (match[3] !== undefined && Number(match[3]) < 1)) {
      reader.problems.push(`ROUTE_POLICIES must be comma-separated route=fast|slow[:timeoutMs] items (bad: "${item}")`);
      continue;
    }
    routes[match[1]] = match[3] === undefined ? { timeoutClass: match[2] as 'fast' | 'slow' } : { timeoutClass: match[2] as 'fast' | 'slow', timeoutMs: Number(match[3]) };
  }
  return {
    isEnabled: mode === 'on',
    bulkheads: {
      fast: {
        maxConcurrent: reader.int('BULKHEAD_FAST_MAX_CONCURRENT', { min: 1, max: 100_000, fallback: 256 }),
        maxQueued: reader.int('BULKHEAD_FAST_MAX_QUEUED', { min: 0, max: 100_000, fallback: 0 }),
      },
      slow: {
        maxConcurrent: reader.int('BULKHEAD_SLOW_MAX_CONCURRENT', { min: 1, max: 100_000, fallback: 64 }),
        maxQueued: reader.int('BULKHEAD_SLOW_MAX_QUEUED', { min: 0, max: 100_000, fallback: 16 }),
      },
    },
    routes,
    breaker: {
      failureThresholdPercent: reader.int('BREAKER_FAILURE_PERCENT', { min: 1, max: 100, fallback: 50 }),
      volumeThreshold: reader.int('BREAKER_VOLUME_THRESHOLD', { min: 1, max: 1_000_000, fallback: 20 }),
      rollingWindowMs: reader.int('BREAKER_WINDOW_MS', { min: 100, max: 3_600_000, fallback: 10_000 }),
      halfOpenAfterMs: reader.int('BREAKER_HALF_OPEN_MS', { min: 10, max: 3_600_000, fallback: 5_000 }),
    },
    retry: {
      maxAttempts: reader.int('RETRY_MAX_ATTEMPTS', { min: 1, max: 5, fallback: 2 }),
      minSuccessRate: reader.number('RETRY_MIN_SUCCESS_RATE', { min: 0, max: 1, fallback: 0.8 }),
      budgetRatio: reader.number('RETRY_BUDGET_RATIO', { min: 0, max: 1, fallback: 0.1 }),
      budgetMinPerS: reader.number('RETRY_BUDGET_MIN_PER_S', { min: 0, max: 10_000, fallback: 3 }),
    },
    staleMaxEntries: reader.int('STALE_MAX_ENTRIES', { min: 1, max: 10_000_000, fallback: 10_000 }),
    admission: readAdmission(reader),
    failover: {
      afterFailures: reader.int('FAILOVER_AFTER_FAILURES', { min: 1, max: 10_000, fallback: 5 }),
      recoverAfterProbes: reader.int('FAILOVER_RECOVER_PROBES', { min: 1, max: 1_000, fallback: 3 }),
      probeIntervalMs: reader.int('FAILOVER_PROBE_INTERVAL_MS', { min: 50, max: 600_000, fallback: 500 }),
    },
  };
}

function readAdmission(reader: EnvReader): AdmissionConfig {
  const admission = {
    mode: reader.string('ADMISSION_MODE', { fallback: 'adaptive', pattern: /^(adaptive|static)$/, hint: 'adaptive or static' }) as 'adaptive' | 'static',
    initialLimit: reader.int('ADMISSION_INITIAL_LIMIT', { min: 1, max: 100_000, fallback: 64 }),
    minLimit: reader.int('ADMISSION_MIN_LIMIT', { min: 1, max: 100_000, fallback: 32 }),
    maxLimit: reader.int('ADMISSION_MAX_LIMIT', { min: 1, max: 100_000, fallback: 2_000 }),
    maxLatencyMs: reader.int('ADMISSION_MAX_LATENCY_MS', { min: 1, max: 600_000, fallback: 1_000 }),
    tolerance: reader.number('ADMISSION_TOLERANCE', { min: 1, max: 1_000, fallback: 10 }),
    clientThrottleK: reader.number('CLIENT_THROTTLE_K', { min: 0, max: 100, fallback: 2 }),
    loopDelayMs: reader.int('ADMISSION_LOOP_DELAY_MS', { min: 1, max: 10_000, fallback: 20 }),
  };
  if (admission.minLimit > admission.maxLimit) reader.problems.push('ADMISSION_MIN_LIMIT must not exceed ADMISSION_MAX_LIMIT');
  if (admission.clientThrottleK > 0 && admission.clientThrottleK < 1) reader.problems.push('CLIENT_THROTTLE_K must be 0 (off) or at least 1');
  return admission;
}

function dnsTarget(reader: EnvReader, name: string): string | undefined {
  const value = reader.string(name, { fallback: '' });
  if (value && !parseDnsTarget(value)) reader.problems.push(`${name} must be name:port of a headless Service (got "${value}")`);
  return value || undefined;
}
