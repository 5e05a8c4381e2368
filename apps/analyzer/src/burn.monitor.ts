import { Logger } from '@nestjs/common';
import { type AnalyticsAlert } from '@app/contracts';
import { type AnalyticsStore, type BurnRule, type BurnVerdict, evaluateBurn } from '@app/platform';

export interface BurnMonitorOptions {
  rules: readonly BurnRule[];
  minVolume: number;
  everyMs: number;
  /** Most firing alerts exported as metric series (the worst first); the table keeps them all. */
  maxSeries: number;
}

/** A firing alert as the metrics export it. */
export type FiringAlert = Omit<AnalyticsAlert, 'since' | 'updatedAt'>;

/**
 * Every `everyMs`, evaluates the burn-rate rules for each activity with settled deliveries in the
 * longest window, from the aggregates in PostgreSQL (so every analyzer sees the same numbers), and
 * replaces the firing set in `analytics_alerts`. Several analyzers may do it at once: each writes
 * the same set under an advisory lock.
 */
export class BurnMonitor {
  private readonly logger = new Logger(BurnMonitor.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private firing: FiringAlert[] = [];
  /** Activities evaluated in the last round. */
  evaluated = 0;

  constructor(
    private readonly store: AnalyticsStore,
    /** Each activity's success objective (its configuration's, else ANALYZER_OBJECTIVE). */
    private readonly objectives: { of(activityIds: Iterable<string>): Promise<Map<string, number>> },
    private readonly opts: BurnMonitorOptions,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const tick = () => {
      const round = this.evaluate().then(
        () => undefined,
        (err: unknown) => this.logger.warn({ event: 'burn.evaluate.failed', error: (err as Error).message }),
      );
      this.running = round;
      void round.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The alerts firing at the last evaluation, worst first, at most `maxSeries`. */
  current(): readonly FiringAlert[] {
    return this.firing;
  }

  async evaluate(): Promise<FiringAlert[]> {
    const nowMs = this.now();
    const longest = Math.max(...this.opts.rules.map((r) => r.longMs));
    const outcomes = await this.store.outcomesSince(nowMs - longest);
    const objectives = await this.objectives.of(outcomes.keys());
    const firing: FiringAlert[] = [];
    for (const [activityId, minutes] of outcomes) {
      const objective = objectives.get(activityId)!;
      for (const verdict of evaluateBurn(minutes, nowMs, this.opts.rules, { objective, minVolume: this.opts.minVolume })) {
        if (verdict.firing) firing.push(toAlert(activityId, verdict, objective));
      }
    }
    const started = firing.filter((a) => !this.firing.some((f) => f.activityId === a.activityId && f.rule === a.rule));
    for (const a of started) this.logger.warn({ event: 'activity.burning', ...a });
    await this.store.replaceAlerts(firing, nowMs);
    this.evaluated = outcomes.size;
    this.firing = firing.sort((a, b) => b.shortBurn - a.shortBurn).slice(0, this.opts.maxSeries);
    return firing;
  }
}

function toAlert(activityId: string, v: BurnVerdict, objective: number): FiringAlert {
  return { activityId, rule: v.rule, objective, longBurn: v.longBurn, shortBurn: v.shortBurn };
}
