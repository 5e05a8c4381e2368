import { ConfigError } from '@app/platform';
import { loadGatewayConfig } from './gateway.config.js';

// Fixture secrets: long enough, and not one repeated character (that is refused as a placeholder).
const JWT_SECRET = 'jwt-'.repeat(8);
const ADMIN_TOKEN = 'adm-'.repeat(6);
const SERVICE_TOKEN = 'svc-'.repeat(8);
const base = { JWT_SECRET, ADMIN_TOKEN, SERVICE_TOKEN };

function problemOf(env: Record<string, string>): string {
  try {
    loadGatewayConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadGatewayConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadGatewayConfig(base);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      redisUrl: 'redis://127.0.0.1:6379',
      queryUpstreams: ['127.0.0.1:4001', '127.0.0.1:4002'],
      deliveryUpstreams: ['127.0.0.1:4101', '127.0.0.1:4102'],
      corsOrigins: [],
      timeouts: { fastMs: 300, slowMs: 3000 },
      bodyLimitBytes: 16384,
    });
    expect(Object.isFrozen(config.timeouts)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadGatewayConfig({
      ...base,
      PORT: '8080',
      HOST: '0.0.0.0',
      QUERY_UPSTREAMS: 'q1:1, q2:2',
      DELIVERY_UPSTREAMS: 'd1:3',
      CORS_ORIGINS: 'http://localhost:*, https://app.example.com',
      TIMEOUT_FAST_MS: '100',
      TIMEOUT_SLOW_MS: '2000',
      BODY_LIMIT_BYTES: '4096',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      queryUpstreams: ['q1:1', 'q2:2'],
      deliveryUpstreams: ['d1:3'],
      corsOrigins: ['http://localhost:*', 'https://app.example.com'],
      timeouts: { fastMs: 100, slowMs: 2000 },
      bodyLimitBytes: 4096,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['QUERY_UPSTREAMS', 'nohost'],
    ['DELIVERY_UPSTREAMS', 'd1:0'],
    ['CORS_ORIGINS', 'localhost:3000'],
    ['CORS_ORIGINS', 'http://*.example.com'],
    ['TIMEOUT_FAST_MS', '0'],
    ['TIMEOUT_SLOW_MS', 'soon'],
    ['BODY_LIMIT_BYTES', '-1'],
    ['REDIS_URL', 'http://nope'],
  ])('names %s when it is %p', (name, value) => {
    expect(problemOf({ [name]: value })).toMatch(new RegExp(`^Invalid gateway config: .*${name}`));
  });

  it('requires every secret', () => {
    const message = problemOf({ JWT_SECRET: '', ADMIN_TOKEN: '', SERVICE_TOKEN: '' });
    expect(message).toContain('JWT_SECRET is required');
    expect(message).toContain('ADMIN_TOKEN is required');
    expect(message).toContain('SERVICE_TOKEN is required');
  });

  it('rejects short secrets without echoing them', () => {
    const message = problemOf({ JWT_SECRET: 'short-jwt-secret', ADMIN_TOKEN: 'short-admin-token', SERVICE_TOKEN: 'short-service-token' });
    expect(message).toContain('JWT_SECRET must be at least 32 characters');
    expect(message).toContain('SERVICE_TOKEN must be at least 32 characters');
    expect(message).not.toContain('short-service-token');
    expect(message).toContain('ADMIN_TOKEN must be at least 24 characters');
    expect(message).not.toContain('short-jwt-secret');
    expect(message).not.toContain('short-admin-token');
  });

  it('lists every problem in one line', () => {
    const message = problemOf({ PORT: 'x', TIMEOUT_FAST_MS: 'y' });
    expect(message).toContain('PORT');
    expect(message).toContain('TIMEOUT_FAST_MS');
    expect(message).not.toContain('\n');
  });

  describe('routing and discovery', () => {
    it('defaults to success-rate routing with the documented thresholds', () => {
      const config = loadGatewayConfig(base);
      expect(config.routing).toEqual({
        mode: 'success-rate', windowMs: 10_000, windowBuckets: 10, ejectBelowRate: 0.5, minRequests: 10, consecutiveFailures: 5,
        maxEjectionShare: 0.5, baseEjectionMs: 5_000, maxEjectionMs: 300_000, readmitAfterSuccesses: 3, probeMode: 'active', probeIntervalMs: 500,
      });
      expect(config.discovery).toEqual({ isEnabled: true, refreshMs: 1_000 });
      expect(Object.isFrozen(config.routing)).toBe(true);
    });

    it('reads every routing variable', () => {
      const config = loadGatewayConfig({
        ...base, ROUTING_MODE: 'round-robin', ROUTING_WINDOW_MS: '5000', ROUTING_WINDOW_BUCKETS: '5', ROUTING_EJECT_BELOW_RATE: '0.8',
        ROUTING_MIN_REQUESTS: '20', ROUTING_CONSECUTIVE_FAILURES: '3', ROUTING_MAX_EJECTION_PERCENT: '34', ROUTING_BASE_EJECTION_MS: '1000',
        ROUTING_MAX_EJECTION_MS: '60000', ROUTING_READMIT_SUCCESSES: '2', ROUTING_PROBE_MODE: 'trickle', ROUTING_PROBE_INTERVAL_MS: '250',
        DISCOVERY_ENABLED: 'false', DISCOVERY_REFRESH_MS: '2000',
      });
      expect(config.routing).toEqual({
        mode: 'round-robin', windowMs: 5_000, windowBuckets: 5, ejectBelowRate: 0.8, minRequests: 20, consecutiveFailures: 3,
        maxEjectionShare: 0.34, baseEjectionMs: 1_000, maxEjectionMs: 60_000, readmitAfterSuccesses: 2, probeMode: 'trickle', probeIntervalMs: 250,
      });
      expect(config.discovery).toEqual({ isEnabled: false, refreshMs: 2_000 });
      expect(loadGatewayConfig({ ...base, QUERY_DNS: 'query-headless.rampart.svc.cluster.local:4001' }).dnsDiscovery).toEqual({
        query: 'query-headless.rampart.svc.cluster.local:4001',
        delivery: undefined,
      });
    });

    it.each([
      ['ROUTING_MODE', 'random', /ROUTING_MODE must be success-rate or round-robin/],
      ['ROUTING_EJECT_BELOW_RATE', '1.5', /ROUTING_EJECT_BELOW_RATE must be a number 0-1/],
      ['ROUTING_MAX_EJECTION_PERCENT', '101', /ROUTING_MAX_EJECTION_PERCENT must be an integer 0-100/],
      ['ROUTING_CONSECUTIVE_FAILURES', '0', /ROUTING_CONSECUTIVE_FAILURES must be an integer/],
      ['ROUTING_MAX_EJECTION_MS', '1000', /ROUTING_MAX_EJECTION_MS must be at least ROUTING_BASE_EJECTION_MS/],
      ['ROUTING_WINDOW_BUCKETS', '601', /ROUTING_WINDOW_BUCKETS must be an integer/],
      ['ROUTING_PROBE_MODE', 'passive', /ROUTING_PROBE_MODE must be active or trickle/],
      ['DISCOVERY_ENABLED', 'sometimes', /DISCOVERY_ENABLED must be true or false/],
      ['DISCOVERY_REFRESH_MS', '10', /DISCOVERY_REFRESH_MS must be an integer/],
      ['QUERY_DNS', 'query-headless', /QUERY_DNS must be name:port of a headless Service/],
      ['DELIVERY_DNS', 'delivery:99999', /DELIVERY_DNS must be name:port/],
    ])('rejects %s=%s', (name, value, message) => {
      expect(problemOf({ [name]: value })).toMatch(message);
    });
  });

  describe('resilience', () => {
    it('defaults: policies on, fast 256/0 and slow 64/16 bulkheads, breaker 50% over 20 calls, 2 attempts gated at 80%, 5 claims/s', () => {
      const config = loadGatewayConfig(base);
      expect(config.resilience).toMatchObject({
        isEnabled: true,
        bulkheads: { fast: { maxConcurrent: 256, maxQueued: 0 }, slow: { maxConcurrent: 64, maxQueued: 16 } },
        routes: {},
        breaker: { failureThresholdPercent: 50, volumeThreshold: 20, rollingWindowMs: 10_000, halfOpenAfterMs: 5_000 },
        retry: { maxAttempts: 2, minSuccessRate: 0.8, budgetRatio: 0.1, budgetMinPerS: 3 },
        failover: { afterFailures: 5, recoverAfterProbes: 3, probeIntervalMs: 500 },
      });
      expect(config.backupUpstreams).toEqual({ query: [], delivery: [] });
      expect(config.claimRateLimitPerS).toBe(5);
      expect(config.soldOutLatch).toEqual({ isEnabled: true, resyncMs: 5_000 });
    });

    it('reads every resilience variable', () => {
      const config = loadGatewayConfig({
        ...base,
        RESILIENCE_POLICIES: 'off',
        ROUTE_POLICIES: 'gift.get=slow:500, order.list-for-user=fast',
        BULKHEAD_FAST_MAX_CONCURRENT: '10',
        BULKHEAD_FAST_MAX_QUEUED: '1',
        BULKHEAD_SLOW_MAX_CONCURRENT: '3',
        BULKHEAD_SLOW_MAX_QUEUED: '2',
        BREAKER_FAILURE_PERCENT: '30',
        BREAKER_VOLUME_THRESHOLD: '4',
        BREAKER_WINDOW_MS: '2000',
        BREAKER_HALF_OPEN_MS: '700',
        RETRY_MAX_ATTEMPTS: '3',
        RETRY_MIN_SUCCESS_RATE: '0.9',
        RETRY_BUDGET_RATIO: '0.2',
        RETRY_BUDGET_MIN_PER_S: '1',
        STALE_MAX_ENTRIES: '50',
        QUERY_BACKUP_UPSTREAMS: 'qb:1',
        DELIVERY_BACKUP_UPSTREAMS: 'db:1,db:2',
        FAILOVER_AFTER_FAILURES: '2',
        FAILOVER_RECOVER_PROBES: '1',
        FAILOVER_PROBE_INTERVAL_MS: '100',
        CLAIM_RATE_LIMIT_PER_S: '0',
        ADMISSION_MODE: 'static',
        ADMISSION_INITIAL_LIMIT: '32',
        ADMISSION_MIN_LIMIT: '4',
        ADMISSION_MAX_LIMIT: '500',
        ADMISSION_MAX_LATENCY_MS: '800',
        CLIENT_THROTTLE_K: '1.5',
        ADMISSION_LOOP_DELAY_MS: '30',
        ADMISSION_TOLERANCE: '4',
        SOLD_OUT_LATCH: 'off',
        SOLD_OUT_LATCH_RESYNC_MS: '250',
      });
      expect(config.resilience).toEqual({
        isEnabled: false,
        bulkheads: { fast: { maxConcurrent: 10, maxQueued: 1 }, slow: { maxConcurrent: 3, maxQueued: 2 } },
        routes: { 'gift.get': { timeoutClass: 'slow', timeoutMs: 500 }, 'order.list-for-user': { timeoutClass: 'fast' } },
        breaker: { failureThresholdPercent: 30, volumeThreshold: 4, rollingWindowMs: 2000, halfOpenAfterMs: 700 },
        retry: { maxAttempts: 3, minSuccessRate: 0.9, budgetRatio: 0.2, budgetMinPerS: 1 },
        staleMaxEntries: 50,
        admission: { mode: 'static', initialLimit: 32, minLimit: 4, maxLimit: 500, maxLatencyMs: 800, tolerance: 4, clientThrottleK: 1.5, loopDelayMs: 30 },
        failover: { afterFailures: 2, recoverAfterProbes: 1, probeIntervalMs: 100 },
      });
      expect(config.backupUpstreams).toEqual({ query: ['qb:1'], delivery: ['db:1', 'db:2'] });
      expect(config.claimRateLimitPerS).toBe(0);
      expect(config.soldOutLatch).toEqual({ isEnabled: false, resyncMs: 250 });
    });

    it.each([
      ['ADMISSION_MODE', 'dynamic'],
      ['ADMISSION_MIN_LIMIT', '0'],
      ['CLIENT_THROTTLE_K', '0.5'],
      ['RESILIENCE_POLICIES', 'maybe'],
      ['ROUTE_POLICIES', 'gift.get=medium'],
      ['ROUTE_POLICIES', 'gift.get'],
      ['ROUTE_POLICIES', 'gift.get=fast:0'],
      ['BULKHEAD_SLOW_MAX_CONCURRENT', '0'],
      ['BREAKER_FAILURE_PERCENT', '101'],
      ['RETRY_MAX_ATTEMPTS', '9'],
      ['RETRY_MIN_SUCCESS_RATE', '1.5'],
      ['QUERY_BACKUP_UPSTREAMS', 'nohost'],
      ['CLAIM_RATE_LIMIT_PER_S', '-1'],
      ['SOLD_OUT_LATCH', 'yes'],
      ['SOLD_OUT_LATCH_RESYNC_MS', '50'],
    ])('rejects %s=%s naming the variable', (name, value) => {
      expect(problemOf({ [name]: value })).toContain(name);
    });
  });
});
