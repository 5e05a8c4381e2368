import { NoHealthyEndpointError } from './errors/no-healthy-endpoint.error.js';
import type { CallOutcome, EndpointSnapshot, Router } from './router.js';
import { isOnCanary, STABLE_RELEASE } from './user-bucket.js';

/** What the router needs of a gray release: which label is stable, which is the canary and for whom. */
export interface RolloutRoute {
  /** Release that serves everyone not on the canary. Default `stable`. */
  stable: string;
  /** Release under test; none: everyone goes to `stable`. */
  canary?: string;
  /** Share of users (0-100) on the canary. */
  weightPct: number;
  /** Per-rollout salt of the user hash (a new rollout draws new users). */
  salt: string;
}

/**
 * Creates the router of one release group (the same kind for every group: ejection and probing per
 * group). `mayEjectAll` says, when asked, whether the group may have all its instances out: true for
 * a group other than stable while a stable group exists to take its users.
 */
export type GroupRouterFactory<E> = (release: string, endpoints: readonly E[], mayEjectAll: () => boolean) => Router<E>;

/** Options of {@link ReleaseRouter}. */
export interface ReleaseRouterOptions {
  /** Name used in errors, e.g. the service name. Default `'upstream'`. */
  name?: string;
}

/**
 * Routes by release first, then by the group's own router. Instances are grouped by the release
 * they report (unknown: `stable`); each group has its own router, so ejection and probing work
 * within a group exactly as without releases. A call for a user goes to their release (the canary
 * iff their bucket is under the weight, {@link isOnCanary}); a call without a user goes to stable.
 * When the chosen group has no healthy instance the call falls back to the stable group (counted
 * in {@link fallbacks}), then to any group with a healthy instance, then to any group's panic pick.
 *
 * Hot path: one hash of the user id and one Map lookup; with a single group it is the group's pick.
 */
export class ReleaseRouter<E> implements Router<E> {
  readonly name: string;
  /** Calls whose release group had no healthy instance, per release they were meant for. */
  readonly fallbacks = new Map<string, number>();
  private readonly groups = new Map<string, Router<E>>();
  private readonly releases = new Map<E, string>();
  private groupOf = new Map<E, Router<E>>();
  private all: readonly E[] = [];
  private rollout: RolloutRoute = { stable: STABLE_RELEASE, weightPct: 0, salt: '' };
  /** The only group when there is one (skips the release choice). */
  private single?: Router<E>;

  constructor(
    endpoints: readonly E[],
    private readonly createGroup: GroupRouterFactory<E>,
    options: ReleaseRouterOptions = {},
  ) {
    this.name = options.name ?? 'upstream';
    this.setEndpoints(endpoints);
  }

  /** The release an instance reports (`stable` until it said otherwise). */
  releaseOf(endpoint: E): string {
    return this.releases.get(endpoint) ?? STABLE_RELEASE;
  }

  /** Every release that has at least one known instance. */
  releasesSeen(): string[] {
    return [...this.groups.keys()];
  }

  /** Records the release of instances (discovery or a ping); a changed release moves the instance to that group. */
  setReleases(releases: Iterable<[E, string]>): void {
    let changed = false;
    for (const [endpoint, release] of releases) {
      if (this.releases.get(endpoint) === release) continue;
      this.releases.set(endpoint, release);
      changed = true;
    }
    if (changed) this.regroup();
  }

  /** Applies a rollout (or none); takes effect on the next pick. */
  setRollout(rollout: RolloutRoute | undefined): void {
    this.rollout = rollout ?? { stable: STABLE_RELEASE, weightPct: 0, salt: '' };
  }

  /** The release a user's calls go to under the current rollout (before any fallback). */
  targetRelease(userId?: string): string {
    const { canary, weightPct, salt, stable } = this.rollout;
    if (userId === undefined || canary === undefined || weightPct <= 0) return stable;
    return isOnCanary(userId, salt, weightPct) ? canary : stable;
  }

  pick(exclude?: ReadonlySet<E>, userId?: string): E {
    if (this.single && this.groups.has(this.rollout.stable)) return this.single.pick(exclude);
    const target = this.targetRelease(userId);
    const primary = this.groups.get(target);
    if (primary && isServing(primary, exclude)) return primary.pick(exclude);
    const stable = this.rollout.stable;
    if (target !== stable) {
      this.fallbacks.set(target, (this.fallbacks.get(target) ?? 0) + 1);
      const group = this.groups.get(stable);
      if (group && isServing(group, exclude)) return group.pick(exclude);
    }
    for (const group of this.groups.values()) if (isServing(group, exclude)) return group.pick(exclude);
    // Nothing healthy anywhere: let the groups' own panic rule choose (stable first).
    for (const group of [this.groups.get(stable), ...this.groups.values()]) {
      if (!group) continue;
      try {
        return group.pick(exclude);
      } catch (err) {
        if (!(err instanceof NoHealthyEndpointError)) throw err;
      }
    }
    throw new NoHealthyEndpointError(this.name);
  }

  report(endpoint: E, outcome: CallOutcome, latencyMs: number, isConnectRefused?: boolean): void {
    this.groupOf.get(endpoint)?.report(endpoint, outcome, latencyMs, isConnectRefused);
  }

  endpoints(): readonly E[] {
    return this.all;
  }

  setEndpoints(endpoints: readonly E[]): void {
    this.all = Object.freeze([...new Set(endpoints)]);
    const kept = new Set(this.all);
    for (const endpoint of this.releases.keys()) if (!kept.has(endpoint)) this.releases.delete(endpoint);
    this.regroup();
  }

  snapshot(): EndpointSnapshot<E>[] {
    const out: EndpointSnapshot<E>[] = [];
    for (const [release, group] of this.groups) for (const s of group.snapshot()) out.push({ ...s, release });
    return out;
  }

  probeTargets(): readonly E[] {
    const due: E[] = [];
    for (const group of this.groups.values()) due.push(...(group.probeTargets?.() ?? []));
    return due;
  }

  reportProbe(endpoint: E, isOk: boolean): void {
    this.groupOf.get(endpoint)?.reportProbe?.(endpoint, isOk);
  }

  hasHealthy(exclude?: ReadonlySet<E>): boolean {
    for (const group of this.groups.values()) if (isServing(group, exclude)) return true;
    return false;
  }

  /** Rebuilds the groups from the instance list and their releases; a group keeps its router (and its instances' statistics). */
  private regroup(): void {
    const members = new Map<string, E[]>();
    for (const endpoint of this.all) {
      const release = this.releaseOf(endpoint);
      const list = members.get(release) ?? [];
      list.push(endpoint);
      members.set(release, list);
    }
    for (const release of [...this.groups.keys()]) if (!members.has(release)) this.groups.delete(release);
    const groupOf = new Map<E, Router<E>>();
    for (const [release, list] of members) {
      let group = this.groups.get(release);
      if (group) group.setEndpoints(list);
      else this.groups.set(release, (group = this.createGroup(release, list, () => release !== this.rollout.stable && this.groups.has(this.rollout.stable))));
      for (const endpoint of list) groupOf.set(endpoint, group);
    }
    this.groupOf = groupOf;
    this.single = this.groups.size === 1 ? [...this.groups.values()][0] : undefined;
  }
}

function isServing<E>(group: Router<E>, exclude?: ReadonlySet<E>): boolean {
  if (group.hasHealthy) return group.hasHealthy(exclude);
  return group.endpoints().some((e) => !exclude?.has(e));
}
