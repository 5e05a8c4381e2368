import { Logger } from '@nestjs/common';
import { ErrorCode, isAppError, type Pattern } from '@app/contracts';
import type { EndpointSnapshot, RolloutRoute } from '@app/routing';
import type { CallOptions, Upstream } from './upstream.client.js';

/** Options of {@link FailoverUpstream}. */
export interface FailoverOptions {
  /** Consecutive failed calls to the primary group that move traffic to the backup. */
  afterFailures: number;
  /** Consecutive probe sweeps with a primary instance answering that move traffic back. */
  recoverAfterProbes: number;
  /** Time between probe sweeps of the primary while traffic is on the backup, in ms. */
  probeIntervalMs: number;
  /** Budget of one probe sweep (ping of every non-ejected primary instance), in ms. */
  probeTimeoutMs: number;
}

/** Which group takes traffic. */
export type FailoverGroup = 'primary' | 'backup';

/** Errors that say "the primary group could not answer" (not a business refusal). */
const GROUP_FAILURES: ReadonlySet<string> = new Set([
  ErrorCode.UpstreamTimeout,
  ErrorCode.UpstreamUnreachable,
  ErrorCode.NoHealthyEndpoint,
  ErrorCode.Internal,
]);

/**
 * A service with a primary and a backup instance group (`*_BACKUP_UPSTREAMS`). Traffic goes to the
 * primary while it has a healthy instance; `afterFailures` failed calls in a row (with no success
 * between, so no instance of the group is answering) move it to the backup. While on the backup,
 * the primary is pinged every `probeIntervalMs`; after `recoverAfterProbes` good sweeps in a row
 * traffic moves back. Each group keeps its own router (ejection, probing) inside.
 */
export class FailoverUpstream implements Upstream {
  private readonly logger = new Logger(FailoverUpstream.name);
  private active: FailoverGroup = 'primary';
  private consecutiveFailures = 0;
  private goodSweeps = 0;
  private timer: NodeJS.Timeout | undefined;
  private isSweeping = false;

  constructor(
    readonly service: string,
    readonly primary: Upstream,
    readonly backup: Upstream,
    private readonly options: FailoverOptions,
  ) {}

  /** The group taking traffic now. */
  get group(): FailoverGroup {
    return this.active;
  }

  call<T>(pattern: Pattern, payload: object, options?: CallOptions): Promise<T> {
    if (this.active === 'backup') return this.backup.call<T>(pattern, payload, options);
    return this.primary.call<T>(pattern, payload, options).then(
      (value) => {
        this.consecutiveFailures = 0;
        return value;
      },
      (err: unknown) => {
        if (isAppError(err) && GROUP_FAILURES.has(err.code)) {
          if (++this.consecutiveFailures >= this.options.afterFailures && this.active === 'primary') this.switchTo('backup');
        } else {
          this.consecutiveFailures = 0;
        }
        throw err;
      },
    );
  }

  async anyInstanceAnswers(timeoutMs: number): Promise<string> {
    const [primary, backup] = await Promise.all([this.primary.anyInstanceAnswers(timeoutMs), this.backup.anyInstanceAnswers(timeoutMs)]);
    if (primary === 'ok' || backup === 'ok') return 'ok';
    return `${primary}; backup: ${backup}`;
  }

  /** Instances of both groups (the backup's after the primary's). */
  setRollout(route: RolloutRoute): void {
    this.primary.setRollout?.(route);
    this.backup.setRollout?.(route);
  }

  releaseFallbacks(): Record<string, number> {
    const sum: Record<string, number> = { ...this.primary.releaseFallbacks?.() };
    for (const [release, n] of Object.entries(this.backup.releaseFallbacks?.() ?? {})) sum[release] = (sum[release] ?? 0) + n;
    return sum;
  }

  snapshot(): EndpointSnapshot<string>[] {
    return [...(this.primary.snapshot?.() ?? []), ...(this.backup.snapshot?.() ?? [])];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([this.primary.close(), this.backup.close()]);
  }

  private switchTo(group: FailoverGroup): void {
    this.active = group;
    this.consecutiveFailures = 0;
    this.goodSweeps = 0;
    this.logger.warn({ event: group === 'backup' ? 'failover.to-backup' : 'failover.to-primary', service: this.service });
    clearInterval(this.timer);
    this.timer = undefined;
    if (group === 'backup') {
      this.timer = setInterval(() => void this.sweep(), this.options.probeIntervalMs);
      this.timer.unref();
    }
  }

  /** One probe sweep of the primary while on the backup. */
  private async sweep(): Promise<void> {
    if (this.isSweeping || this.active !== 'backup') return;
    this.isSweeping = true;
    try {
      const answer = await this.primary.anyInstanceAnswers(this.options.probeTimeoutMs);
      this.goodSweeps = answer === 'ok' ? this.goodSweeps + 1 : 0;
      if (this.goodSweeps >= this.options.recoverAfterProbes && this.active === 'backup') this.switchTo('primary');
    } catch {
      this.goodSweeps = 0;
    } finally {
      this.isSweeping = false;
    }
  }
}
