import { p99OfHistogram } from '@app/routing';
import type { Upstream } from '../upstream/upstream.client.js';
import type { GrayRelease } from './gray-release.js';
import { addTallies, emptyTally, type Comparison } from './release.judge.js';
import type { ReleaseService, RolloutState, RolloutStep, RollbackEvidence } from './rollout.js';

/** One release of a service as this gateway sees it. */
export interface ReleaseFigures {
  release: string;
  /** Instances of it this gateway knows (registry, static list). */
  instances: number;
  /** Calls judged in this gateway's window (claims for delivery, gift reads for query). */
  requests: number;
  successRate: number;
  p99Ms: number;
}

/** `GET /admin/releases` entry of one service. */
export interface ReleaseView {
  service: ReleaseService;
  state: RolloutState;
  stable: string;
  canary?: string;
  weightPct: number;
  updatedAt: string;
  actor?: string;
  reason?: string;
  /** Every release with instances or calls, with its figures. */
  releases: ReleaseFigures[];
  /** The last judgement: canary against stable per activity and per provider (empty unless progressing). */
  comparisons: Comparison[];
  /** Calls meant for a release whose instances were all out, served by stable instead. */
  fallbacks: Record<string, number>;
  /** Present once the judge rolled the canary back: the comparison that failed. */
  rollback?: RollbackEvidence;
  /** The schedule's remaining steps and when the next is due (if the operator gave one). */
  steps?: RolloutStep[];
  stepAt?: string;
}

/**
 * A service's rollout (shared by every gateway) with this gateway's own figures. Figures are local:
 * each gateway counts the calls it made, as `/admin/upstreams` does.
 */
export function releaseView(gray: GrayRelease, service: ReleaseService, upstream: Upstream): ReleaseView {
  const rollout = gray.store.get(service);
  const instances = new Map<string, number>();
  for (const s of upstream.snapshot?.() ?? []) instances.set(s.release ?? 'stable', (instances.get(s.release ?? 'stable') ?? 0) + 1);
  const names = new Set([...instances.keys(), ...gray.windows.releases(service), rollout.stable, ...(rollout.canary ? [rollout.canary] : [])]);
  const now = Date.now();
  const releases = [...names].map((release) => {
    const total = emptyTally();
    for (const tally of gray.windows.tallies(service, release, now).values()) addTallies(total, tally);
    const requests = total.ok + total.failed;
    return { release, instances: instances.get(release) ?? 0, requests, successRate: requests ? Math.round((total.ok / requests) * 10_000) / 10_000 : 1, p99Ms: p99OfHistogram(total.hist) };
  });
  const { state, stable, canary, weightPct, updatedAt, actor, reason, rollback, steps, stepAt } = rollout;
  return {
    service, state, stable, canary, weightPct, updatedAt, actor, reason,
    releases,
    comparisons: gray.supervisor.comparisons(service),
    fallbacks: upstream.releaseFallbacks?.() ?? {},
    ...(rollback ? { rollback } : {}),
    ...(steps?.length ? { steps, stepAt } : {}),
  };
}
