import { Logger } from '@nestjs/common';
import type { WindowTally } from '@app/routing';
import type { GiftPlace } from './gift.directory.js';
import { addTallies, compareReleases, DEFAULT_JUDGE_OPTIONS, emptyTally, type Comparison, type JudgeOptions, type JudgedKey } from './release.judge.js';

/** Where the judge's tallies come from: this gateway's windows, or the cluster's ({@link ClusterTallies}). */
export interface TallySource {
  tallies(service: ReleaseService, release: string, nowMs: number): Map<string, WindowTally>;
  /** Brings in other gateways' tallies before a judgement. */
  sync?(nowMs: number): Promise<void>;
}
import { isStepDue, RELEASE_SERVICES, rolledBack, stepped, type ReleaseService, type Rollout } from './rollout.js';

/** What the supervisor needs of the rollout store (the real one, or an in-memory one in specs). */
export interface RolloutSource {
  get(service: ReleaseService): Rollout;
  compareAndSet(next: Rollout): Promise<boolean>;
}

/** Options of {@link ReleaseSupervisor}. */
export interface ReleaseSupervisorOptions {
  /** This gateway's name in a rollback's evidence. */
  gatewayId: string;
  /** Test thresholds. Default {@link DEFAULT_JUDGE_OPTIONS}. */
  judge?: JudgeOptions;
  /** Time source, ms. Default `Date.now`. */
  now?: () => number;
}

/** What the judge did to a canary, for logs and the audit. */
export interface RollbackDone {
  service: ReleaseService;
  canary: string;
  comparison: Comparison;
}

/** A scheduled step the judge took, for logs and the audit. */
export interface StepDone {
  service: ReleaseService;
  canary: string;
  weightPct: number;
}

/**
 * Judges every progressing canary every tick: per activity and per provider, canary against stable
 * ({@link compareReleases}) over the cluster's window; the first significant regression rolls it back.
 *
 * Every gateway judges, no leader: they see the same cluster-wide tallies ({@link ClusterTallies}),
 * and the rollback is a compare-and-set on the rollout's generation, so two gateways that both see
 * the regression store one rollback and write one audit entry (the loser's write finds the generation
 * moved and does nothing). No election to run or fail over; a gateway that dies leaves the others judging.
 */
export class ReleaseSupervisor {
  private readonly logger = new Logger(ReleaseSupervisor.name);
  private readonly judge: JudgeOptions;
  private readonly now: () => number;
  private readonly latest = new Map<ReleaseService, Comparison[]>();

  constructor(
    private readonly rollouts: RolloutSource,
    private readonly windows: TallySource,
    private readonly places: { place(giftId: string): GiftPlace | undefined },
    private readonly onRollback: (done: RollbackDone) => Promise<void>,
    private readonly options: ReleaseSupervisorOptions,
    private readonly onStep: (done: StepDone) => Promise<void> = () => Promise.resolve(),
  ) {
    this.judge = options.judge ?? DEFAULT_JUDGE_OPTIONS;
    this.now = options.now ?? Date.now;
  }

  /** The last comparisons made for `service` (empty while no canary is progressing). */
  comparisons(service: ReleaseService): Comparison[] {
    return this.latest.get(service) ?? [];
  }

  /** One judgement of every service; returns the rollbacks this gateway stored. */
  async tick(): Promise<RollbackDone[]> {
    const done: RollbackDone[] = [];
    const isAnyProgressing = RELEASE_SERVICES.some((service) => this.rollouts.get(service).state === 'progressing');
    if (isAnyProgressing) await this.windows.sync?.(this.now());
    for (const service of RELEASE_SERVICES) {
      const rollout = this.rollouts.get(service);
      if (rollout.state !== 'progressing' || rollout.canary === undefined) {
        this.latest.set(service, []);
        continue;
      }
      const comparisons = this.compare(service, rollout.canary, rollout.stable);
      this.latest.set(service, comparisons);
      const regression = worst(comparisons);
      if (!regression) {
        await this.stepIfDue(rollout, comparisons);
        continue;
      }
      const evidence = { at: new Date(this.now()).toISOString(), judgedBy: this.options.gatewayId, comparison: regression };
      if (!(await this.rollouts.compareAndSet(rolledBack(rollout, evidence, new Date(this.now()))))) continue;
      const rollback = { service, canary: rollout.canary, comparison: regression };
      this.logger.warn({ event: 'release.rolled-back', ...rollback });
      await this.onRollback(rollback);
      done.push(rollback);
    }
    return done;
  }

  /**
   * Takes the schedule's next step when it is due and this judgement was clean with evidence: at
   * least one comparison past the volume gate. A canary without enough calls to be judged holds its
   * weight rather than climb blind. Compare-and-set, so two gateways take one step.
   */
  private async stepIfDue(rollout: Rollout, comparisons: Comparison[]): Promise<void> {
    if (!isStepDue(rollout, this.now()) || !comparisons.some((c) => c.verdict === 'ok')) return;
    const next = stepped(rollout, new Date(this.now()));
    if (!(await this.rollouts.compareAndSet(next))) return;
    const step = { service: rollout.service, canary: rollout.canary!, weightPct: next.weightPct };
    this.logger.log({ event: 'release.stepped', ...step });
    await this.onStep(step);
  }

  /** Canary against stable for every activity and provider with calls on either side. */
  private compare(service: ReleaseService, canary: string, stable: string): Comparison[] {
    const now = this.now();
    const sides = new Map<string, { key: JudgedKey; canary: WindowTally; stable: WindowTally }>();
    const add = (tallies: Map<string, WindowTally>, side: 'canary' | 'stable') => {
      for (const [giftId, tally] of tallies) {
        const place = this.places.place(giftId);
        if (!place) continue; // looked up in the background; judged from the next tick on
        for (const key of [{ kind: 'activity', id: place.activityId }, { kind: 'provider', id: place.provider }] as JudgedKey[]) {
          const name = `${key.kind}:${key.id}`;
          let entry = sides.get(name);
          if (!entry) sides.set(name, (entry = { key, canary: emptyTally(), stable: emptyTally() }));
          addTallies(entry[side], tally);
        }
      }
    };
    add(this.windows.tallies(service, canary, now), 'canary');
    add(this.windows.tallies(service, stable, now), 'stable');
    return [...sides.values()].map((s) => compareReleases(s.key, s.canary, s.stable, this.judge));
  }
}

/** The regression to act on: a success-rate one before a latency one, the most significant first. */
function worst(comparisons: Comparison[]): Comparison | undefined {
  const rank = (c: Comparison) => (c.verdict === 'worse-success' ? 0 : 1);
  return comparisons
    .filter((c) => c.verdict === 'worse-success' || c.verdict === 'worse-latency')
    .sort((a, b) => rank(a) - rank(b) || (a.pValue ?? 1) - (b.pValue ?? 1))[0];
}
