import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import type { OrderArchive } from '@app/platform';
import { type LifecycleCommands, withLifecycleCommands } from '../lifecycle/lifecycle.scripts.js';
import type { OrderBindingStore } from '../lifecycle/order-binding.store.js';

/** Orders looked at per step of a gift's listing. */
const PAGE = 500;

export interface RetentionOptions {
  /** Time an activity's orders stay in Redis after it ended, in s (RETENTION_SECONDS). */
  retentionS: number;
  /** Lease of the pass lock, in ms (renewed by nothing: a pass that outlives it only does idempotent work twice). */
  lockMs: number;
}

export interface RetentionReport {
  /** Orders removed from Redis (archived and checked). */
  retired: number;
  /** Settled orders kept because the archive does not hold them (yet). */
  unarchived: number;
  /** Orders kept because they are not settled (queued, delivering, uncertain). */
  open: number;
  /** Gifts whose every order left Redis (with their per-user counts and ledger). */
  giftsEmptied: number;
  /** Retired orders whose binding stayed: the retired-number filter had no shard for its bits (see retire-binding.lua). */
  bindingsKept: number;
}

/**
 * Retention: once an activity has ended (or a gift was dropped from it) and RETENTION_SECONDS have
 * passed, its gifts' settled orders
 * leave Redis, each only after PostgreSQL was asked and holds it at its current version (the
 * removal script checks the version again, atomically, so an order that moved since stays).
 * Uncertain, queued and delivering orders stay until they settle. For each removed order its state,
 * history, ledger entry and listing entries go in one step in the gift's slot, then its user-index
 * entry and, last, its binding (the idempotency record; a repeat claim that finds no binding or no
 * state is answered from the archive by the claim service), its number set in the retired-number
 * filter by the same script (the claim asks the archive only about numbers the filter may hold). When a gift has no order left, its
 * per-user counts and its (empty) settlements stream go too, and it leaves the set of gifts the
 * archiver and the reconciler walk. The gift's and activity's config and
 * counters stay (small, one per gift): they answer the activity and gift reads; the gift is marked
 * `retiredAtMs` first, so it is never claimable or re-published again (per-user limits could not
 * be enforced any more).
 *
 * A settled order the archive lacks while its gift's settlements stream is empty (its entry was
 * lost, e.g. with a Redis failover) is put back on the stream, so it is archived on the next round.
 */
export class OrderRetention {
  private readonly logger = new Logger(OrderRetention.name);
  private readonly redis: Redis & LifecycleCommands;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly archive: OrderArchive,
    private readonly bindings: OrderBindingStore,
    private readonly opts: RetentionOptions,
  ) {
    this.redis = withLifecycleCommands(redis);
  }

  /** One pass over every gift past retention; undefined when another instance holds the lock. */
  async pass(nowMs = Date.now()): Promise<RetentionReport | undefined> {
    const lock = this.keys.retentionLock();
    const token = `${process.pid}-${Math.random()}`;
    if ((await this.redis.set(lock, token, 'PX', this.opts.lockMs, 'NX')) !== 'OK') return undefined;
    const report: RetentionReport = { retired: 0, unarchived: 0, open: 0, giftsEmptied: 0, bindingsKept: 0 };
    try {
      // Each gift carries its activity's window (or, dropped from its activity by a re-publish, the time it
      // was closed): the gift ended then.
      for (const giftId of await this.redis.smembers(this.keys.gifts())) {
        const [endsAtMs, closedAtMs] = await this.redis.hmget(this.keys.gift(giftId), 'endsAtMs', 'closedAtMs');
        const endedAtMs = Number(endsAtMs ?? 0) > 0 ? Number(endsAtMs) : Number(closedAtMs ?? 0);
        if (!endedAtMs || nowMs < endedAtMs + this.opts.retentionS * 1000) continue;
        await this.retireGift(giftId, report);
      }
    } finally {
      if ((await this.redis.get(lock)) === token) await this.redis.del(lock);
    }
    if (report.retired > 0 || report.giftsEmptied > 0) this.logger.log({ event: 'retention.pass', ...report });
    return report;
  }

  private async retireGift(giftId: string, report: RetentionReport): Promise<void> {
    const k = this.keys;
    // First, before any per-user count goes: the gift can never be re-published or claimed again.
    await this.redis.hsetnx(k.gift(giftId), 'retiredAtMs', Date.now());
    const users = new Set<string>();
    const lost: Array<{ orderId: string; version: number }> = [];
    let offset = 0;
    for (;;) {
      const ids = await this.redis.zrange(k.giftOrders(giftId), String(offset), String(offset + PAGE - 1));
      if (ids.length === 0) break;
      const states = await Promise.all(ids.map((id) => this.redis.hmget(k.orderState(giftId, id), 'status', 'version')));
      const settled = ids.flatMap((id, i) => {
        const [status, version] = states[i];
        return status === 'delivered' || status === 'failed' ? [{ orderId: id, version: Number(version) }] : [];
      });
      const archived = await this.archive.versions(settled.map((s) => s.orderId));
      let kept = 0;
      for (const [i, orderId] of ids.entries()) {
        const status = states[i][0];
        const mine = settled.find((s) => s.orderId === orderId);
        if (status && !mine) {
          report.open += 1;
          kept += 1;
          continue;
        }
        const held = archived.get(orderId);
        if (mine && (held === undefined || held < mine.version)) {
          lost.push(mine);
          report.unarchived += 1;
          kept += 1;
          continue;
        }
        const [removed, userId] = await this.redis.rpRetireOrder(
          k.orderState(giftId, orderId), k.orderHistory(giftId, orderId), k.giftLedger(giftId), k.giftOrders(giftId),
          k.giftOpenOrders(giftId), k.giftUncertainOrders(giftId), orderId, held ?? 0,
        );
        if (removed === 1) {
          report.retired += 1;
          users.add(userId);
          // Then the other slots: the user's index, and last the binding, its number going into the
          // retired-number filter in the same step (see the class comment).
          await this.redis.zrem(k.userOrders(userId), orderId);
          if (!(await this.bindings.retire(orderId))) {
            report.bindingsKept += 1;
            this.logger.warn({ event: 'retention.binding-kept', orderId, reason: 'no retired-number filter shard of the expected size' });
          }
        } else if (userId) {
          kept += 1; // it moved since it was read (the reply names its status); '' : a stale listing entry, removed
        }
      }
      offset += kept;
    }
    const stream = k.giftSettled(giftId);
    if (lost.length > 0 && (await this.redis.xlen(stream)) === 0) {
      for (const o of lost) await this.redis.xadd(stream, '*', 'o', o.orderId, 'v', o.version);
      this.logger.warn({ event: 'retention.refed', giftId, orders: lost.length });
    }
    await this.dropUserCounts(giftId, users);
    const [orders, open, uncertain, pending] = await Promise.all([
      this.redis.zcard(k.giftOrders(giftId)),
      this.redis.zcard(k.giftOpenOrders(giftId)),
      this.redis.zcard(k.giftUncertainOrders(giftId)),
      this.redis.xlen(stream),
    ]);
    if (orders + open + uncertain + pending === 0) {
      const deleted = await this.redis.del(stream, k.giftLedger(giftId), k.giftSoldOutLatch(giftId));
      // Off the list the archiver and the reconciler walk: a retired gift has nothing for them, ever.
      const unlisted = await this.redis.srem(k.gifts(), giftId);
      if (deleted > 0 || unlisted > 0 || users.size > 0) report.giftsEmptied += 1;
    }
  }

  /** Per-user counts of the users whose orders left, unless the ledger still holds one of theirs. */
  private async dropUserCounts(giftId: string, users: Set<string>): Promise<void> {
    if (users.size === 0) return;
    const remaining = new Set((await this.redis.hvals(this.keys.giftLedger(giftId))).map((v) => v.split('|').slice(2).join('|')));
    const gone = [...users].filter((u) => u && !remaining.has(u)).map((u) => this.keys.giftUser(giftId, u));
    // One slot: a multi-key DEL, in chunks.
    for (let i = 0; i < gone.length; i += 500) await this.redis.del(...gone.slice(i, i + 500));
  }
}
