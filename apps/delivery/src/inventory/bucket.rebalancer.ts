import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { giftBuckets, RedisKeys } from '@app/contracts';
import { DELIVERY_REDIS } from '../lifecycle/delivery-redis.js';
import prelude from '../lifecycle/lua/prelude.lua';
import { SoldOutLatchWriter } from '../lifecycle/sold-out-latch.writer.js';
import { type BucketPlan, planBuckets } from './bucket-plan.js';

/** Claims that find their bucket empty within this long are answered by one pass. */
const POKE_DELAY_MS = 5;
/** How long one pass may hold a gift's rebalancing lease (a pass that outlives it is fenced off). */
const LEASE_MS = 5_000;

const SERVER_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Takes a split gift's rebalancing lease. KEYS[1] gift hash  ARGV[1] lease ms.
 * Returns the new epoch (the fencing token of this pass), or 0 while another pass holds the lease.
 */
const LEASE = `${SERVER_MS}
if tonumber(redis.call('HGET', KEYS[1], 'rebalanceUntil') or '0') > now then return 0 end
local epoch = redis.call('HINCRBY', KEYS[1], 'rebalanceEpoch', 1)
redis.call('HSET', KEYS[1], 'rebalanceUntil', now + tonumber(ARGV[1]))
return epoch`;

/** Ends the lease if epoch ARGV[1] still holds it. KEYS[1] gift hash. */
const RELEASE = `if redis.call('HGET', KEYS[1], 'rebalanceEpoch') == ARGV[1] then redis.call('HSET', KEYS[1], 'rebalanceUntil', 0) end return 1`;

/**
 * Hands up to ARGV[4] units of the gift's pool (inventory − allotted) to bucket ARGV[3] and records
 * the transfer as under way. KEYS[1] gift hash  KEYS[2] gift's transfers  ARGV[1] epoch  ARGV[2]
 * transfer id. Returns the units (0: the pool is empty), or -1 when the epoch no longer holds the lease.
 */
const ALLOT = `
local g = redis.call('HMGET', KEYS[1], 'rebalanceEpoch', 'inventory', 'allotted')
if g[1] ~= ARGV[1] then return -1 end
local n = math.min(tonumber(ARGV[4]), tonumber(g[2] or '0') - tonumber(g[3] or '0'))
if n <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'allotted', n)
redis.call('HSET', KEYS[2], ARGV[2], 'out|' .. ARGV[3] .. '|' .. n)
return n`;

/** Records a transfer back from bucket ARGV[3] (up to ARGV[4] units) as under way. Same keys and epoch check as ALLOT. */
const PLAN_RECLAIM = `
if redis.call('HGET', KEYS[1], 'rebalanceEpoch') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[2], ARGV[2], 'in|' .. ARGV[3] .. '|' .. ARGV[4])
return 1`;

/**
 * Ends a transfer under way: deletes its record and, for one back from a bucket (ARGV[3] 'in'),
 * takes the ARGV[4] units the bucket gave off the allotted count. KEYS as ALLOT. Returns 1, 0 when
 * it was no longer under way, -1 when the epoch no longer holds the lease.
 */
const FINISH = `
if redis.call('HGET', KEYS[1], 'rebalanceEpoch') ~= ARGV[1] then return -1 end
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
if ARGV[3] == 'in' then redis.call('HINCRBY', KEYS[1], 'allotted', -tonumber(ARGV[4])) end
return 1`;

/**
 * Applies transfer ARGV[2] to a bucket, once: ARGV[3] > 0 adds that many units to its inventory
 * (and clears `wanted`, the mark of a claim that found it empty), < 0 takes up to that many of its
 * unreserved units. The applied change is recorded under the
 * transfer id, and a repeat returns it without applying it again. Fenced: a pass whose epoch
 * (ARGV[1]) is older than the newest that touched the bucket gets the error FENCED (its lease ended
 * and a newer pass may have finished its transfers). KEYS[1] bucket hash  KEYS[2] bucket's transfers.
 */
const APPLY = `
local epoch = tonumber(ARGV[1])
local fence = tonumber(redis.call('HGET', KEYS[1], 'rebalanceFence') or '0')
if fence > epoch then return redis.error_reply('FENCED') end
if fence < epoch then redis.call('HSET', KEYS[1], 'rebalanceFence', epoch) end
local done = redis.call('HGET', KEYS[2], ARGV[2])
if done then return tonumber(done) end
local change = tonumber(ARGV[3])
if change < 0 then
  local b = redis.call('HMGET', KEYS[1], 'inventory', 'reserved')
  local spare = math.max(0, tonumber(b[1] or '0') - tonumber(b[2] or '0'))
  change = -math.min(-change, spare)
end
if change ~= 0 then redis.call('HINCRBY', KEYS[1], 'inventory', change) end
if change > 0 then redis.call('HSET', KEYS[1], 'wanted', '0') end
redis.call('HSET', KEYS[2], ARGV[2], change)
return change`;

/**
 * The gift's own sold-out mark and latch (see prelude.lua), kept by the rebalancer since no claim
 * runs in the gift's slot: ARGV[1] '1' marks it sold out (returns the sequence number of a latch to
 * build, 0 for none), '0' clears the mark and drops the latch (announced on ARGV[2] with ARGV[3];
 * returns 1 when it was set).
 * KEYS[1] gift hash  KEYS[2] the gift's latch.
 */
const SOLD_OUT_MARK = `${prelude}
if ARGV[1] == '1' then return mark_sold_out(KEYS[1], KEYS[2]) end
return clear_sold_out(KEYS[1], KEYS[2], ARGV[2], ARGV[3])`;

interface RebalanceCommands {
  rpBucketLease(gift: string, leaseMs: number): Promise<number>;
  rpBucketRelease(gift: string, epoch: number): Promise<number>;
  rpBucketAllot(gift: string, transfers: string, epoch: number, id: string, bucket: string, units: number): Promise<number>;
  rpBucketPlanReclaim(gift: string, transfers: string, epoch: number, id: string, bucket: string, units: number): Promise<number>;
  rpBucketFinish(gift: string, transfers: string, epoch: number, id: string, kind: 'in' | 'out', units: number): Promise<number>;
  rpBucketApply(bucket: string, transfers: string, epoch: number, id: string, change: number): Promise<number>;
  rpSplitSoldOut(gift: string, latch: string, soldOut: '1' | '0', channel: string, giftId: string): Promise<number>;
}

/** A split gift's stock as one read saw it. */
export interface SplitGiftStock {
  giftId: string;
  bucketIds: readonly string[];
  inventory: number;
  /** Units handed to the buckets (their inventories add up to it when no transfer is under way). */
  allotted: number;
  /** Per bucket: inventory, reserved, whether it answers SOLD_OUT when empty, whether a claim found it empty since it was last refilled. */
  buckets: Array<{ inventory: number; reserved: number; soldOut: boolean; wanted: boolean }>;
  transfersUnderWay: number;
  retired: boolean;
  /** The gift's own sold-out mark, and whether its latch is stored. */
  soldOut: boolean;
  latched: boolean;
}

/** Lost the lease mid-pass: a newer pass owns the gift's transfers. */
class LeaseLostError extends Error {}

/**
 * Keeps a split gift's buckets stocked (see `giftBuckets`). The gift's hash holds the total
 * inventory and how much of it was handed to buckets (`allotted`); the rest is its pool. A pass
 * reads every bucket, plans with `planBuckets`, and moves stock in transfers that each touch one
 * slot at a time and survive a crash at any step:
 *
 * - pool -> bucket: ALLOT takes the units off the pool and records the transfer (gift's slot), APPLY
 *   adds them to the bucket once (bucket's slot, idempotent by transfer id), FINISH drops the record;
 * - bucket -> pool: PLAN_RECLAIM records it, APPLY takes up to the units the bucket does not hold
 *   reserved, FINISH gives what it took back to the pool.
 *
 * A pass holds the gift's lease, whose epoch fences every step: a pass that stalled past its lease
 * can change nothing (the gift's scripts check the epoch; a bucket refuses an epoch older than the
 * newest it saw). A pass first finishes the transfers a dead pass left under way, so no unit is
 * lost or made twice: at rest, the buckets' inventories add up to `allotted`, and reserved units
 * never exceed a bucket's inventory, so the gift never sells more than its inventory.
 *
 * When the pool and every bucket are empty, each bucket is marked `giftSoldOut` (its claims answer
 * SOLD_OUT instead of the retryable REBALANCING) and the gift itself is marked sold out, which has
 * its latch built from every bucket's ledger (the gateways then refuse new users without Redis); a
 * unit that comes back (a released order) clears the marks and the latch on the next pass. Every delivery instance runs passes every `intervalMs`; `poke` asks
 * for one at once (a claim found its bucket empty).
 */
@Injectable()
export class BucketRebalancer {
  private readonly logger = new Logger(BucketRebalancer.name);
  private readonly redis: Redis & RebalanceCommands;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The pass requests wait for (poke, refill), until it starts. */
  private requested?: { gifts: Set<string>; ran: Promise<void>; done: () => void };
  private pokeTimer?: NodeJS.Timeout;
  private transferSeq = 0;
  private stopped = false;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
    /** Builds the gift's sold-out latch once every bucket is empty (absent: none built). */
    @Optional() private readonly latches?: SoldOutLatchWriter,
  ) {
    const defined = redis as Redis & RebalanceCommands;
    const scripts: Array<[keyof RebalanceCommands, number, string]> = [
      ['rpBucketLease', 1, LEASE], ['rpBucketRelease', 1, RELEASE], ['rpBucketAllot', 2, ALLOT],
      ['rpBucketPlanReclaim', 2, PLAN_RECLAIM], ['rpBucketFinish', 2, FINISH], ['rpBucketApply', 2, APPLY],
      ['rpSplitSoldOut', 2, SOLD_OUT_MARK],
    ];
    for (const [name, numberOfKeys, lua] of scripts) {
      if (typeof (defined as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, { numberOfKeys, lua });
    }
    this.redis = defined;
  }

  start(intervalMs: number): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.pokeTimer);
    this.timer = this.pokeTimer = undefined;
    this.requested?.done(); // nobody waits for a pass that will not run
    this.requested = undefined;
    await this.running;
  }

  /** Asks for a pass over this gift soon (coalesced with other requests; after the pass under way, if any). */
  poke(giftId: string): void {
    void this.nextPass(giftId);
  }

  /**
   * Asks for a pass over this gift and waits until it has run, or `timeoutMs` (whichever comes
   * first): a claim that found its bucket empty waits for the refill before it answers 503.
   */
  async refill(giftId: string, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.nextPass(giftId), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** The next requested pass (started POKE_DELAY_MS after its first request, once no pass is under way), with this gift in it. */
  private nextPass(giftId: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.requested) {
      const gifts = new Set<string>();
      let done!: () => void;
      const ran = new Promise<void>((resolve) => (done = resolve));
      this.requested = { gifts, ran, done };
      this.pokeTimer = setTimeout(() => {
        this.pokeTimer = undefined;
        void (async () => {
          await this.running;
          // Requests from now on wait for the next pass: this one's gifts are fixed.
          this.requested = undefined;
          if (!this.stopped) await this.sweep([...gifts]);
        })().finally(done);
      }, POKE_DELAY_MS);
    }
    this.requested.gifts.add(giftId);
    return this.requested.ran;
  }

  /** One pass over the given split gifts (default: every one); one at a time per instance. */
  async sweep(giftIds?: string[]): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        for (const giftId of giftIds ?? (await this.redis.smembers(this.keys.splitGifts()))) {
          await this.rebalance(giftId).catch((err: unknown) =>
            this.logger.warn({ event: 'buckets.rebalance-failed', giftId, error: (err as Error).message }),
          );
        }
      } catch (err) {
        this.logger.warn({ event: 'buckets.sweep-failed', error: (err as Error).message });
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** One pass over one split gift. Returns the units handed to buckets (0 when nothing needed doing or another pass held the lease). */
  async rebalance(giftId: string): Promise<number> {
    const seen = await this.stock(giftId);
    if (!seen) return 0;
    if (seen.retired) {
      await this.redis.srem(this.keys.splitGifts(), giftId);
      return 0;
    }
    if (!needsPass(seen)) return 0;
    const epoch = await this.redis.rpBucketLease(this.keys.gift(giftId), LEASE_MS);
    if (!epoch) return 0;
    try {
      await this.finishTransfers(giftId, epoch);
      const stock = await this.stock(giftId);
      if (!stock) return 0;
      return await this.level(stock, epoch);
    } catch (err) {
      if (err instanceof LeaseLostError || (err as Error).message.includes('FENCED')) return 0;
      throw err;
    } finally {
      await this.redis.rpBucketRelease(this.keys.gift(giftId), epoch);
    }
  }

  /**
   * Runs `fn` with every unreserved unit of the gift's buckets back in its pool, holding the gift's
   * lease so that no pass hands them out meanwhile (a publish lowering a split gift's inventory:
   * only what is reserved is used then). The next pass shares the pool out again. Undefined when
   * another pass holds the lease (the caller may retry).
   */
  async withStockInPool<T>(giftId: string, fn: () => Promise<T>): Promise<{ result: T } | undefined> {
    const epoch = await this.redis.rpBucketLease(this.keys.gift(giftId), LEASE_MS);
    if (!epoch) return undefined;
    try {
      await this.finishTransfers(giftId, epoch);
      const stock = await this.stock(giftId);
      if (stock) {
        await Promise.all(stock.buckets.map(async (b, i) => {
          const spare = b.inventory - b.reserved;
          if (spare <= 0) return;
          const id = this.transferId(epoch);
          if ((await this.redis.rpBucketPlanReclaim(this.keys.gift(giftId), this.keys.giftTransfers(giftId), epoch, id, stock.bucketIds[i], spare)) < 0) throw new LeaseLostError();
          await this.reclaim(giftId, stock.bucketIds[i], epoch, id, spare);
        }));
      }
      return { result: await fn() };
    } finally {
      await this.redis.rpBucketRelease(this.keys.gift(giftId), epoch);
    }
  }

  /** The gift's pool, buckets and transfers under way in one round trip; undefined when it is not split. */
  async stock(giftId: string): Promise<SplitGiftStock | undefined> {
    const k = this.keys;
    const count = Number((await this.redis.hget(k.gift(giftId), 'buckets')) ?? 1);
    if (!(count > 1)) return undefined;
    const bucketIds = giftBuckets.ids(giftId, count);
    // One command per slot, sent together (auto-pipelined per node; a cluster pipeline must stay in one slot).
    const [gift, underWay, latched, ...buckets] = await Promise.all([
      this.redis.hmget(k.gift(giftId), 'inventory', 'allotted', 'retiredAtMs', 'soldOut'),
      this.redis.hlen(k.giftTransfers(giftId)),
      this.redis.exists(k.giftSoldOutLatch(giftId)),
      ...bucketIds.map((id) => this.redis.hmget(k.gift(id), 'inventory', 'reserved', 'giftSoldOut', 'wanted')),
    ]);
    const [inventory, allotted, retiredAtMs, soldOut] = gift as Array<string | null>;
    return {
      giftId,
      bucketIds,
      inventory: Number(inventory ?? 0),
      allotted: Number(allotted ?? 0),
      retired: !!retiredAtMs,
      soldOut: soldOut === '1',
      latched: latched === 1,
      transfersUnderWay: underWay as number,
      buckets: (buckets as Array<Array<string | null>>).map(([inv, reserved, soldOut, wanted]) => ({
        inventory: Number(inv ?? 0), reserved: Number(reserved ?? 0), soldOut: soldOut === '1', wanted: wanted === '1',
      })),
    };
  }

  /** Finishes every transfer a pass left under way (a dead pass, or this one's own before a retry). */
  private async finishTransfers(giftId: string, epoch: number): Promise<void> {
    const underWay = await this.redis.hgetall(this.keys.giftTransfers(giftId));
    for (const [id, record] of Object.entries(underWay)) {
      const [kind, bucketId, units] = record.split('|');
      if (kind === 'out') await this.credit(giftId, bucketId, epoch, id, Number(units));
      else await this.reclaim(giftId, bucketId, epoch, id, Number(units));
    }
  }

  private async level(stock: SplitGiftStock, epoch: number): Promise<number> {
    const plan = planOf(stock);
    await Promise.all(plan.reclaim.map(async ({ bucket, units }) => {
      const id = this.transferId(epoch);
      const bucketId = stock.bucketIds[bucket];
      if ((await this.redis.rpBucketPlanReclaim(this.keys.gift(stock.giftId), this.keys.giftTransfers(stock.giftId), epoch, id, bucketId, units)) < 0) throw new LeaseLostError();
      return this.reclaim(stock.giftId, bucketId, epoch, id, units);
    }));
    const allotted = await Promise.all(plan.allot.map(async ({ bucket, units }) => {
      const id = this.transferId(epoch);
      const bucketId = stock.bucketIds[bucket];
      const granted = await this.redis.rpBucketAllot(this.keys.gift(stock.giftId), this.keys.giftTransfers(stock.giftId), epoch, id, bucketId, units);
      if (granted < 0) throw new LeaseLostError();
      if (granted > 0) await this.credit(stock.giftId, bucketId, epoch, id, granted);
      return granted;
    }));
    const moved = allotted.reduce((sum, units) => sum + units, 0);
    // Sold out: the pool and every bucket were empty when read (a release meanwhile clears it next pass).
    const soldOut = plan.empty && stock.transfersUnderWay === 0;
    const marks = stock.buckets.flatMap((b, i) => (b.soldOut !== soldOut ? [stock.bucketIds[i]] : []));
    if (marks.length) {
      await Promise.all(marks.map((id) => this.redis.hset(this.keys.gift(id), 'giftSoldOut', soldOut ? '1' : '0')));
      this.logger.log({ event: soldOut ? 'buckets.sold-out' : 'buckets.restocked', giftId: stock.giftId, buckets: marks.length });
    }
    // The gift's latch: every gateway answers SOLD_OUT to new users without a Redis round trip.
    if (soldOut && (!stock.soldOut || !stock.latched)) {
      const seq = await this.redis.rpSplitSoldOut(this.keys.gift(stock.giftId), this.keys.giftSoldOutLatch(stock.giftId), '1', this.keys.soldOutChannel(), stock.giftId);
      this.latches?.arm(stock.giftId, seq);
    } else if (!soldOut && stock.soldOut) {
      await this.redis.rpSplitSoldOut(this.keys.gift(stock.giftId), this.keys.giftSoldOutLatch(stock.giftId), '0', this.keys.soldOutChannel(), stock.giftId);
    }
    return moved;
  }

  /** Pool -> bucket, after ALLOT: the bucket gets the units once, then the transfer is finished. */
  private async credit(giftId: string, bucketId: string, epoch: number, id: string, units: number): Promise<void> {
    await this.redis.rpBucketApply(this.keys.gift(bucketId), this.keys.giftTransfers(bucketId), epoch, id, units);
    await this.finish(giftId, bucketId, epoch, id, 'out', units);
  }

  /** Bucket -> pool, after PLAN_RECLAIM: the bucket gives what it can spare, the pool gets it back. Returns the units. */
  private async reclaim(giftId: string, bucketId: string, epoch: number, id: string, units: number): Promise<number> {
    const given = -(await this.redis.rpBucketApply(this.keys.gift(bucketId), this.keys.giftTransfers(bucketId), epoch, id, -units));
    await this.finish(giftId, bucketId, epoch, id, 'in', given);
    return given;
  }

  private async finish(giftId: string, bucketId: string, epoch: number, id: string, kind: 'in' | 'out', units: number): Promise<void> {
    if ((await this.redis.rpBucketFinish(this.keys.gift(giftId), this.keys.giftTransfers(giftId), epoch, id, kind, units)) < 0) throw new LeaseLostError();
    // Finished under the lease: no pass can apply this transfer again, so the bucket's record can go.
    await this.redis.hdel(this.keys.giftTransfers(bucketId), id);
  }

  private transferId(epoch: number): string {
    this.transferSeq = (this.transferSeq + 1) % 1_000_000_000;
    return `${epoch}.${this.transferSeq}`;
  }
}

/** Whether a pass must take the lease: a transfer is under way, stock should move, or the sold-out marks are wrong. */
function needsPass(stock: SplitGiftStock): boolean {
  if (stock.transfersUnderWay > 0) return true;
  const plan = planOf(stock);
  if (plan.reclaim.length || plan.allot.length) return true;
  const soldOut = plan.empty && stock.transfersUnderWay === 0;
  return stock.buckets.some((b) => b.soldOut !== plan.empty) || stock.soldOut !== soldOut || (soldOut && !stock.latched);
}

function planOf(stock: SplitGiftStock): BucketPlan {
  return planBuckets(stock.inventory - stock.allotted, stock.buckets.map((b) => b.inventory - b.reserved), stock.buckets.map((b) => b.wanted));
}
