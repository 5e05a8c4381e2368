import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';
import type { WindowTally } from '@app/routing';
import { addTallies, emptyTally } from './release.judge.js';
import type { ReleaseWindows } from './release.windows.js';
import { RELEASE_SERVICES, type ReleaseService } from './rollout.js';

/** service -> release -> giftId -> tally: what one gateway counted in its window. */
type Snapshot = Record<string, Record<string, Record<string, WindowTally>>>;
/** One gateway's entry: its tallies, when, and under which rollout generation of each service. */
interface Entry {
  at: number;
  generations: Record<string, number>;
  tallies: Snapshot;
}

/** Options of {@link ClusterTallies}. */
export interface ClusterTalliesOptions {
  /** This gateway's field in the shared hash. */
  gatewayId: string;
  /** A peer's tallies older than this are ignored (and deleted), in ms. Default 25 000 (2.5 judge ticks). */
  staleAfterMs?: number;
  /** The rollout generation this gateway applies: a peer's tallies of another generation are not merged. */
  generationOf: (service: ReleaseService) => number;
}

/**
 * The judge's data from every gateway, not just this one: at each tick each gateway writes its
 * windows' tallies to one Redis hash (field = gateway) and reads its peers'. Every gateway then
 * judges the same cluster-wide window (a peer's part at most one tick old), so two gateways double
 * the evidence instead of each testing half of it, and they reach the same verdict; the rollback
 * itself is a compare-and-set, so it is stored once. Off the hot path: one HSET and one HGETALL per
 * tick. When Redis cannot be read, the judge goes on with this gateway's own windows.
 */
export class ClusterTallies {
  private readonly logger = new Logger(ClusterTallies.name);
  private peers: Entry[] = [];
  private readonly staleAfterMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly local: ReleaseWindows,
    private readonly options: ClusterTalliesOptions,
  ) {
    this.staleAfterMs = options.staleAfterMs ?? 25_000;
  }

  /** Writes this gateway's tallies and reads the peers' (call once per tick, before judging). */
  async sync(nowMs: number): Promise<void> {
    const key = this.keys.releaseTallies();
    try {
      const generations = Object.fromEntries(RELEASE_SERVICES.map((service) => [service, this.options.generationOf(service)]));
      await this.redis.hset(key, this.options.gatewayId, JSON.stringify({ at: nowMs, generations, tallies: this.snapshot(nowMs) } satisfies Entry));
      await this.redis.pexpire(key, this.staleAfterMs * 4);
      const all = await this.redis.hgetall(key);
      const peers: Entry[] = [];
      const stale: string[] = [];
      for (const [gateway, raw] of Object.entries(all)) {
        if (gateway === this.options.gatewayId) continue;
        const entry = JSON.parse(raw) as Entry;
        if (nowMs - entry.at > this.staleAfterMs) stale.push(gateway);
        else peers.push(entry);
      }
      if (stale.length) await this.redis.hdel(key, ...stale);
      this.peers = peers;
    } catch (err) {
      this.peers = [];
      this.logger.warn({ event: 'release.tallies-sync-failed', error: String(err) });
    }
  }

  /** Per gift, what `release` of `service` counted across the cluster: this gateway now, peers at their last tick. */
  tallies(service: ReleaseService, release: string, nowMs: number): Map<string, WindowTally> {
    const out = this.local.tallies(service, release, nowMs);
    const generation = this.options.generationOf(service);
    for (const peer of this.peers) {
      // A peer still on the previous rollout (its change arrives within a second) counted under other rules.
      if (peer.generations[service] !== generation) continue;
      for (const [giftId, tally] of Object.entries(peer.tallies[service]?.[release] ?? {})) {
        out.set(giftId, addTallies(out.get(giftId) ?? emptyTally(), tally));
      }
    }
    return out;
  }

  private snapshot(nowMs: number): Snapshot {
    const out: Snapshot = {};
    for (const service of RELEASE_SERVICES) {
      for (const release of this.local.releases(service)) {
        const tallies = this.local.tallies(service, release, nowMs);
        if (!tallies.size) continue;
        (out[service] ??= {})[release] = Object.fromEntries(tallies);
      }
    }
    return out;
  }
}
