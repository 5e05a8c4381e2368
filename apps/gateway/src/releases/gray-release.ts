import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { isTerminalStatus, type OrderStatus, type RedisKeys } from '@app/contracts';
import type { AuditLog } from '@app/platform';
import { countsAsFailure } from '@app/resilience';
import type { ServedBy, Upstream } from '../upstream/upstream.client.js';
import { ClusterTallies } from './cluster.tallies.js';
import { GiftDirectory } from './gift.directory.js';
import { ReleaseSupervisor, type RollbackDone, type StepDone } from './release.supervisor.js';
import { ReleaseWindows } from './release.windows.js';
import { routeOf, type ReleaseService, type Rollout } from './rollout.js';
import { RolloutStore } from './rollout.store.js';

/** Time between two judgements of the canaries, in ms. */
export const JUDGE_INTERVAL_MS = 10_000;

/** Response header naming the release that served a user call (`X-Rampart-Release: canary-1`). */
export const RELEASE_HEADER = 'x-rampart-release';

/** What a gray release needs from the gateway. */
export interface GrayReleaseDeps {
  redis: Redis;
  subscriber: Redis;
  keys: RedisKeys;
  upstreams: Record<ReleaseService, Upstream>;
  audit: AuditLog;
  /** This gateway's name in rollback evidence (host:port). */
  gatewayId: string;
}

/**
 * The gateway's side of gray releases, in one object: the rollout store (Redis + pub/sub), applying
 * each rollout to its service's router, this gateway's per-release windows, the gift directory and
 * the judge's 10-second timer. Controllers record outcomes through {@link recordClaim} and {@link recordRead}.
 */
export class GrayRelease {
  private readonly logger = new Logger(GrayRelease.name);
  readonly windows = new ReleaseWindows();
  readonly store: RolloutStore;
  readonly directory: GiftDirectory;
  readonly supervisor: ReleaseSupervisor;
  private readonly generations = new Map<ReleaseService, number>();
  /** Rollbacks and scheduled steps this gateway stored (for `/metrics`). */
  readonly counters = { rollbacks: { query: 0, delivery: 0 }, steps: { query: 0, delivery: 0 } };
  private timer?: NodeJS.Timeout;
  private isJudging = false;

  constructor(private readonly deps: GrayReleaseDeps) {
    this.store = new RolloutStore(deps.redis, deps.subscriber, deps.keys);
    this.directory = new GiftDirectory(deps.upstreams.query);
    const tallies = new ClusterTallies(deps.redis, deps.keys, this.windows, { gatewayId: deps.gatewayId, generationOf: (service) => this.store.get(service).generation });
    this.supervisor = new ReleaseSupervisor(this.store, tallies, this.directory, (done) => this.audit(done), { gatewayId: deps.gatewayId }, (step) => this.auditStep(step));
  }

  async start(): Promise<void> {
    this.store.onChange((rollout) => this.apply(rollout));
    await this.store.start();
    this.timer = setInterval(() => void this.judge(), JUDGE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.store.stop();
  }

  /**
   * One claim's outcome for the judge: `delivered` is a success; `failed` (the provider refused) and
   * `uncertain` are failures; statuses still moving (queued, delivering) say nothing yet. A thrown
   * error counts only if it is a failure of the service (timeouts, INTERNAL...), not a refusal.
   */
  recordClaim(giftId: string, served: ServedBy, latencyMs: number, result: { status: OrderStatus } | { error: unknown }): void {
    if (served.release === undefined || !this.isJudged('delivery')) return;
    let isSuccess: boolean | undefined;
    if ('status' in result) isSuccess = result.status === 'uncertain' ? false : isTerminalStatus(result.status) ? result.status === 'delivered' : undefined;
    else isSuccess = countsAsFailure(result.error) ? false : undefined;
    if (isSuccess === undefined) return;
    this.windows.record('delivery', served.release, giftId, isSuccess, latencyMs, Date.now());
    this.knowPlace(giftId);
  }

  /** One gift read's outcome (query service): an answer is a success, a service failure is not. */
  recordRead(giftId: string, served: ServedBy, latencyMs: number, error?: unknown): void {
    if (served.release === undefined || !this.isJudged('query')) return;
    if (error !== undefined && !countsAsFailure(error)) return;
    this.windows.record('query', served.release, giftId, error === undefined, latencyMs, Date.now());
    this.knowPlace(giftId);
  }

  /**
   * Starts looking up a counted gift's activity and provider now (a cached answer costs a Map lookup), so
   * the next judgement can place its calls: looked up only by the judge, a gift first counted between two
   * ticks was placed at the next one and judged a tick (10 s) later still.
   */
  private knowPlace(giftId: string): void {
    this.directory.place(giftId);
  }

  /**
   * Whether calls of `service` are counted: only while a canary progresses. The windows restart on
   * every rollout change anyway, so counting without one would only cost time on every call and memory.
   */
  private isJudged(service: ReleaseService): boolean {
    return this.store.get(service).state === 'progressing';
  }

  /** Routes the service by the rollout; any change of it (canary, weight) starts the judge's windows afresh. */
  private apply(rollout: Rollout): void {
    this.deps.upstreams[rollout.service].setRollout?.(routeOf(rollout));
    if (this.generations.get(rollout.service) !== rollout.generation) {
      this.generations.set(rollout.service, rollout.generation);
      this.windows.restart(rollout.service);
    }
  }

  private async judge(): Promise<void> {
    if (this.isJudging) return;
    this.isJudging = true;
    try {
      this.windows.prune(Date.now());
      await this.supervisor.tick();
    } catch (err) {
      this.logger.warn({ event: 'release.judge-failed', error: String(err) });
    } finally {
      this.isJudging = false;
    }
  }

  /** A scheduled step's audit entry, written once (by the gateway whose compare-and-set won). */
  private async auditStep(step: StepDone): Promise<void> {
    this.counters.steps[step.service]++;
    const reason = `canary ${step.canary} stepped to ${step.weightPct} % of users by its schedule (judged clean; ${this.deps.gatewayId})`;
    await this.deps.audit.record({ actor: 'release-schedule', action: 'release.step', target: step.service, reason });
  }

  /** The rollback's audit entry, written once (by the gateway whose compare-and-set won). */
  private async audit(done: RollbackDone): Promise<void> {
    this.counters.rollbacks[done.service]++;
    const c = done.comparison;
    const figures = `canary ${c.canary.successRate} success, p99 ${c.canary.p99Ms} ms over ${c.canary.requests} calls vs stable ${c.stable.successRate}, ${c.stable.p99Ms} ms over ${c.stable.requests}`;
    const reason = `canary ${done.canary} rolled back: ${c.kind} ${c.id} ${c.verdict} (${figures}; p=${(c.pValue ?? 1).toExponential(2)}; judged by ${this.deps.gatewayId})`;
    await this.deps.audit.record({ actor: 'release-judge', action: 'release.rollback', target: done.service, reason });
  }
}
