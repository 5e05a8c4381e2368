import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';
import type { OrderArchive } from '@app/platform';
import { bitOffsets, type RetiredNumbers, slotTags } from '../lifecycle/retired-numbers.js';

/** Order numbers read from the archive per page, and Redis commands in flight at once. */
const PAGE = 5_000;
const CHUNK = 1_000;

/**
 * Builds the retired-number filter when it is missing: on a deployment's first start with the archive
 * on, and after Redis lost it. Until a slot's shard exists the bind answers `unknown` there and the
 * claim asks PostgreSQL, as it did before the filter; nothing is ever answered `no` from a shard that
 * is not complete.
 *
 * Steps (one instance at a time, under a lock renewed while it works): (1) an empty "next" shard per
 * slot of `slotBytes` (fixed from then on: the ready marker holds it and every instance adopts it), so
 * that retention, which sets a retired number's bits in both shards, misses no number retired from now
 * on; (2) every number the archive holds set in the next shards (more than retention retired:
 * harmless, the archive answers "none" for the rest); (3) each next shard renamed over its shard
 * (whatever a shard held, the archive holds too); (4) the ready marker. A build cut short starts again
 * from (1) on the next try. Retention waits for the marker (it retires nothing while the size is not
 * known), so the numbers it retires always reach a complete shard.
 */
export class RetiredNumbersBuilder {
  private readonly logger = new Logger(RetiredNumbersBuilder.name);

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly numbers: RetiredNumbers,
    private readonly archive: OrderArchive,
    private readonly opts: { lockMs: number; slotBytes: number },
  ) {}

  /**
   * True when the filter is complete (built now or before) and this instance uses its size; false
   * while another instance builds it.
   */
  async ensure(): Promise<boolean> {
    if (await this.adoptBuilt()) return true;
    const lock = this.keys.retiredNumbersBuildLock();
    const token = `${process.pid}-${Math.random()}`;
    if ((await this.redis.set(lock, token, 'PX', this.opts.lockMs, 'NX')) !== 'OK') return false;
    const startedMs = Date.now();
    const stillMine = async () => {
      if ((await this.redis.get(lock)) !== token) throw new Error('the retired-number filter build lost its lock');
      await this.redis.pexpire(lock, this.opts.lockMs);
    };
    try {
      const tags = slotTags();
      const { slotBytes } = this.opts;
      const empty = Buffer.alloc(slotBytes);
      await inChunks(tags, (tag) => this.redis.set(this.keys.retiredNumbersNext(tag), empty));
      let numbers = 0;
      for (let after = ''; ; ) {
        await stillMine();
        const ids = await this.archive.orderIdsAfter(after, PAGE);
        if (ids.length === 0) break;
        // At the size being built, not the one this instance may still use.
        await inChunks(ids, (id) => this.redis.call('BITFIELD', this.numbers.shards(id).next, ...bitOffsets(id, slotBytes * 8).flatMap((o) => ['SET', 'u1', o, 1])));
        numbers += ids.length;
        after = ids[ids.length - 1];
      }
      await stillMine();
      await inChunks(tags, (tag) => this.redis.rename(this.keys.retiredNumbersNext(tag), this.keys.retiredNumbers(tag)));
      await this.redis.set(this.keys.retiredNumbersReady(), String(slotBytes));
      this.adopt(slotBytes);
      this.logger.log({ event: 'retired-numbers.built', archivedNumbers: numbers, slotBytes, ms: Date.now() - startedMs });
      return true;
    } finally {
      if ((await this.redis.get(lock)) === token) await this.redis.del(lock);
    }
  }

  /**
   * True when the filter is complete (its ready marker is in Redis) and this instance now uses its
   * size; reads Redis only, so an instance started while PostgreSQL is away uses a filter that exists.
   */
  async adoptBuilt(): Promise<boolean> {
    const ready = Number(await this.redis.get(this.keys.retiredNumbersReady()));
    if (!(ready > 0)) return false;
    this.adopt(ready);
    return true;
  }

  private adopt(slotBytes: number): void {
    if (this.numbers.size === slotBytes) return;
    if (slotBytes !== this.opts.slotBytes) {
      this.logger.warn({ event: 'retired-numbers.size', built: slotBytes, configured: this.opts.slotBytes, note: 'the filter keeps the size it was built with (see the README to resize it)' });
    }
    this.numbers.useSize(slotBytes);
  }
}

/** Runs `fn` over `items`, at most CHUNK at once (single-key commands: fine on a cluster too). */
async function inChunks<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await Promise.all(items.slice(i, i + CHUNK).map(fn));
}
