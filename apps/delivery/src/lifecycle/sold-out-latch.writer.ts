import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { BloomFilter, encodeSoldOutLatch, latchMember, readStoredGiftIds } from '@app/platform';
import { DELIVERY_REDIS } from './delivery-redis.js';
import { type LifecycleCommands, withLifecycleCommands } from './lifecycle.scripts.js';

/**
 * False-positive rate of a latch's filter, per probe (a claim probes its key and its user): a false
 * positive only costs the normal (Redis) path. 0.1% is 14.4 bits per member: a gift of 1 million
 * orders (2 million members) makes a latch of about 3.6 MB, loaded once per gateway per sell-out.
 */
const LATCH_FALSE_POSITIVE_RATE = 0.001;
/** At least 1 KB of filter: a small gift's latch is practically exact. */
const LATCH_MIN_BITS = 8_192;
const LEDGER_SCAN_COUNT = 1_000;

/**
 * Builds a sold-out gift's latch (see the platform's `SoldOutLatchRecord`) when a lifecycle script
 * (for a gift split over buckets: the rebalancer) reports that the gift just sold out: reads the
 * gift's ledger (a split gift's: every bucket's; every order that ever reserved a
 * unit, reserved or released: final, since no order can be created while sold out), puts its
 * order keys and users into a Bloom filter, and stores it with store-latch.lua, which drops it if
 * inventory came back meanwhile (sequence number) and announces it to the gateways.
 *
 * Input: giftId and the sequence number the script handed out. Output: the stored latch, or
 * nothing. Idempotent: the same sequence number stores the same latch. A builder that dies leaves
 * the gift marked sold out without a latch; the next SOLD_OUT refusal after the build lease hands
 * the build to another claim (mark_sold_out in prelude.lua), or for a split gift the next pass.
 */
@Injectable()
export class SoldOutLatchWriter {
  private readonly logger = new Logger(SoldOutLatchWriter.name);
  private readonly redis: Redis & LifecycleCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.redis = withLifecycleCommands(redis);
  }

  /** Builds in the background (a claim never waits for it); a failure is logged. 0: nothing to build. */
  arm(giftId: string, seq: number): void {
    if (!(seq > 0)) return;
    this.build(giftId, seq).catch((err: unknown) =>
      this.logger.warn({ event: 'sold-out.latch-failed', giftId, seq, error: (err as Error).message }),
    );
  }

  /** Builds and stores the latch for `seq`; true when stored (false: out of date). */
  async build(giftId: string, seq: number): Promise<boolean> {
    const k = this.keys;
    const members: string[] = [];
    // A split gift's orders are in its buckets' ledgers (its own holds none).
    const storedIds = await readStoredGiftIds(this.redis, k, giftId);
    for (const ledgerOf of storedIds.length > 1 ? storedIds.slice(1) : storedIds) {
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(k.giftLedger(ledgerOf), cursor, 'COUNT', LEDGER_SCAN_COUNT);
        for (let i = 0; i < flat.length; i += 2) {
          members.push(latchMember.order(flat[i]));
          // The entry is '<r|x>|<YYYY-MM-DD>|<userId>'.
          members.push(latchMember.user(flat[i + 1].split('|').slice(2).join('|')));
        }
        cursor = next;
      } while (cursor !== '0');
    }
    const [startsAtMs, endsAtMs] = await this.redis.hmget(k.gift(giftId), 'startsAtMs', 'endsAtMs');
    const latch = encodeSoldOutLatch({
      giftId, seq, startsAtMs: Number(startsAtMs ?? 0), endsAtMs: Number(endsAtMs ?? 0),
      members: BloomFilter.of(new Set(members), LATCH_FALSE_POSITIVE_RATE, LATCH_MIN_BITS),
    });
    const stored = (await this.redis.rpStoreLatch(k.gift(giftId), k.giftSoldOutLatch(giftId), seq, latch, k.soldOutChannel(), giftId)) === 1;
    this.logger.log({ event: stored ? 'sold-out.latched' : 'sold-out.latch-outdated', giftId, seq, members: members.length, bytes: latch.length });
    return stored;
  }
}
