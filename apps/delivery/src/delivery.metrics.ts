import type { Redis } from 'ioredis';
import { memoryHeadroomRatio, readRedisMemory, type FlagCache, type Metrics, type RedisMemory } from '@app/platform';
import type { ClaimReporter } from './claims/claim.reporter.js';
import type { GuardedProvider } from './provider/guarded-provider.js';
import type { DeliveryQueue } from './queue/delivery.queue.js';

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * Gauges of the delivery service read at scrape time: queue counts, provider breakers, report
 * events lost, flag values, Redis memory. (Deliveries by outcome are counted where they happen.)
 */
export function registerDeliveryMetrics(
  metrics: Metrics,
  sources: { queue: DeliveryQueue; reporter: ClaimReporter; provider: GuardedProvider; flags: FlagCache; redis: Redis },
): void {
  metrics.gauge('rampart_queue_jobs', 'Delivery queue jobs by state', ['state'], async () => {
    const counts = await sources.queue.counts();
    return Object.entries(counts).map(([state, n]) => [{ state }, n]);
  });
  metrics.gauge('rampart_queue_oldest_waiting_seconds', 'Age of the oldest delivery job waiting to run (0 when none waits)', [], async () => [
    [{}, await sources.queue.oldestWaitingAgeS()],
  ]);
  metrics.gauge('rampart_breaker_state', 'Circuit state (0 closed, 1 half-open, 2 open)', ['breaker'], () =>
    sources.provider.snapshot().map((b) => [{ breaker: b.name }, BREAKER_STATE[b.state]]),
  );
  metrics.gauge('rampart_breaker_rejects', 'Calls failed fast by an open circuit, in its window', ['breaker'], () =>
    sources.provider.snapshot().map((b) => [{ breaker: b.name }, b.rejects]),
  );
  metrics.gauge('rampart_report_events_lost', 'Claim reports dropped (buffer full) or lost (sink failed or slow)', ['reason'], () => {
    const { dropped, lost } = sources.reporter.stats();
    return [[{ reason: 'dropped' }, dropped], [{ reason: 'lost' }, lost]];
  });
  metrics.gauge('rampart_flag_enabled', 'Degradation flags as this instance sees them (1 enabled)', ['flag'], () =>
    Object.entries(sources.flags.all()).map(([flag, on]) => [{ flag }, on ? 1 : 0]),
  );
  registerRedisMemoryMetrics(metrics, sources.redis);
}

/**
 * Redis memory headroom (used_memory against maxmemory, from INFO memory of each master), read once per
 * scrape for the three gauges. A full Redis with noeviction refuses writes: claims answer 503. Every
 * delivery instance reports the same servers; the alerts take the max/min by node.
 */
const SCRAPE_REUSE_MS = 100;

function registerRedisMemoryMetrics(metrics: Metrics, redis: Redis): void {
  // The four gauges are collected one after another in one scrape: one INFO per server serves them all.
  let last: { atMs: number; read: Promise<RedisMemory[]> } | undefined;
  const read = () => {
    const now = Date.now();
    if (!last || now - last.atMs > SCRAPE_REUSE_MS) last = { atMs: now, read: readRedisMemory(redis) };
    return last.read;
  };
  metrics.gauge('rampart_redis_memory_used_bytes', 'Redis used_memory (INFO memory), by server', ['node'], async () =>
    (await read()).map((m) => [{ node: m.node }, m.usedBytes]),
  );
  metrics.gauge('rampart_redis_memory_max_bytes', 'Redis maxmemory, by server (0: no limit)', ['node'], async () =>
    (await read()).map((m) => [{ node: m.node }, m.maxBytes]),
  );
  metrics.gauge('rampart_redis_memory_headroom_ratio', 'Share of Redis maxmemory still free (0 full: writes refused), by server; absent without a limit', ['node'], async () =>
    (await read()).flatMap((m) => {
      const ratio = memoryHeadroomRatio(m);
      return ratio === undefined ? [] : [[{ node: m.node }, ratio] as [{ node: string }, number]];
    }),
  );
  metrics.gauge('rampart_redis_noeviction', 'Redis maxmemory-policy is noeviction (1) or an evicting policy (0), by server', ['node', 'policy'], async () =>
    (await read()).map((m) => [{ node: m.node, policy: m.policy }, m.policy === 'noeviction' ? 1 : 0]),
  );
}
