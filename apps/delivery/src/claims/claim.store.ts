import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  type ClaimRefusal,
  type DeliveryMode,
  type GiftRecord,
  type OrderStatus,
  parseGiftRecord,
  RedisKeys,
} from '@app/contracts';
import { BIND_ORDER, RELEASE, RERESERVE, RESERVE, TRANSITION } from './claim.scripts.js';

export const DELIVERY_REDIS = Symbol('DELIVERY_REDIS');

export type BindResult =
  | { kind: 'new'; createdAtMs: number }
  | { kind: 'reused' }
  | { kind: 'existing'; status: OrderStatus | 'new' | 'refused'; refusal?: ClaimRefusal | 'NOT_FOUND'; createdAtMs: number };

/** What a reservation tells the delivery step about the gift. */
export interface ReservedGift {
  activityId: string;
  delivery: DeliveryMode;
  providerUrl: string;
  orderNumbers: boolean;
  day: string;
}
export type ReserveResult =
  | { kind: 'reserved'; gift: ReservedGift }
  | { kind: 'released' }
  | { kind: 'refused'; code: ClaimRefusal | 'NOT_FOUND' };

interface ClaimCommands {
  rpBindOrder(key: string, orderId: string, userId: string, giftId: string, nowMs: number): Promise<string[]>;
  rpReserve(gift: string, day: string, user: string, ledger: string, ...argv: (string | number)[]): Promise<string[]>;
  rpRelease(gift: string, day: string, user: string, ledger: string, orderId: string): Promise<number>;
  rpTransition(order: string, ...argv: (string | number)[]): Promise<[number, string]>;
  rpRereserve(gift: string, day: string, user: string, ledger: string, orderId: string): Promise<string>;
}

/**
 * Storage of claims and orders: the only class of the claim path that talks to Redis. Every method
 * is one single-slot atomic step, idempotent by orderId.
 */
@Injectable()
export class ClaimStore {
  private readonly redis: Redis & ClaimCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    redis.defineCommand('rpBindOrder', { numberOfKeys: 1, lua: BIND_ORDER });
    redis.defineCommand('rpReserve', { numberOfKeys: 4, lua: RESERVE });
    redis.defineCommand('rpRelease', { numberOfKeys: 4, lua: RELEASE });
    redis.defineCommand('rpTransition', { numberOfKeys: 1, lua: TRANSITION });
    redis.defineCommand('rpRereserve', { numberOfKeys: 4, lua: RERESERVE });
    this.redis = redis as Redis & ClaimCommands;
  }

  async bind(orderId: string, userId: string, giftId: string, nowMs: number): Promise<BindResult> {
    const [kind, status, refusal, createdAtMs] = await this.redis.rpBindOrder(this.keys.order(orderId), orderId, userId, giftId, nowMs);
    if (kind === 'new') return { kind, createdAtMs: nowMs };
    if (kind === 'reused') return { kind };
    return {
      kind: 'existing',
      status: status as OrderStatus | 'new' | 'refused',
      createdAtMs: Number(createdAtMs),
      ...(refusal ? { refusal: refusal as ClaimRefusal } : {}),
    };
  }

  async reserve(
    orderId: string,
    userId: string,
    giftId: string,
    opts: { nowMs: number; day: string; uncertainLimit: number; paused: boolean },
  ): Promise<ReserveResult> {
    const k = this.keys;
    const reply = await this.redis.rpReserve(
      k.gift(giftId), k.giftDay(giftId, opts.day), k.giftUser(giftId, userId), k.giftLedger(giftId),
      orderId, userId, opts.nowMs, opts.day, opts.uncertainLimit, opts.paused ? '1' : '0',
    );
    if (reply[0] === 'released') return { kind: 'released' };
    if (reply[0] === 'refused') return { kind: 'refused', code: reply[1] as ClaimRefusal | 'NOT_FOUND' };
    const [, activityId, delivery, providerUrl, orderNumbers, day] = reply;
    return { kind: 'reserved', gift: { activityId, delivery: delivery === 'async' ? 'async' : 'sync', providerUrl, orderNumbers: orderNumbers === '1', day } };
  }

  /** Gives an order's unit back to the gift. True when released now, false when nothing was held. */
  async release(orderId: string, userId: string, giftId: string, day: string): Promise<boolean> {
    const k = this.keys;
    return (await this.redis.rpRelease(k.gift(giftId), k.giftDay(giftId, day), k.giftUser(giftId, userId), k.giftLedger(giftId), orderId)) === 1;
  }

  /** Holds a released reservation again (operator retry). */
  async rereserve(orderId: string, userId: string, giftId: string, day: string): Promise<'ok' | 'SOLD_OUT' | 'NOT_FOUND'> {
    const k = this.keys;
    return (await this.redis.rpRereserve(k.gift(giftId), k.giftDay(giftId, day), k.giftUser(giftId, userId), k.giftLedger(giftId), orderId)) as 'ok' | 'SOLD_OUT' | 'NOT_FOUND';
  }

  /**
   * Compare-and-set of an order's status. Returns whether it moved, and the status it has now.
   * `fields` are set together with the move (e.g. activityId, error).
   */
  async transition(
    orderId: string,
    from: ReadonlyArray<string>,
    to: OrderStatus | 'refused',
    opts: { nowMs: number; attemptsDelta?: number; error?: string; fields?: Record<string, string> },
  ): Promise<{ moved: boolean; status: string }> {
    const extra = Object.entries(opts.fields ?? {}).flat();
    const channel = to === 'refused' ? '' : this.keys.orderEvents(orderId);
    const [moved, status] = await this.redis.rpTransition(
      this.keys.order(orderId), from.join(','), to, opts.nowMs, opts.attemptsDelta ?? 0, opts.error ?? '', channel, ...extra,
    );
    return { moved: moved === 1, status };
  }

  /** Counts one more uncertain order of this user for this gift (see UNCERTAIN_LIMIT). */
  async countUncertain(giftId: string, userId: string): Promise<void> {
    await this.redis.hincrby(this.keys.giftUser(giftId, userId), 'uncertain', 1);
  }

  /** Adds the order to its user's index (idempotent). */
  async indexForUser(userId: string, orderId: string, createdAtMs: number): Promise<void> {
    await this.redis.zadd(this.keys.userOrders(userId), 'NX', createdAtMs, orderId);
  }

  async gift(giftId: string): Promise<GiftRecord | undefined> {
    return parseGiftRecord(await this.redis.hgetall(this.keys.gift(giftId)));
  }

  /** Counts one uncertain order less (an operator resolved it). */
  async uncountUncertain(giftId: string, userId: string): Promise<void> {
    await this.redis.hincrby(this.keys.giftUser(giftId, userId), 'uncertain', -1);
  }

  /**
   * Marks an order as being worked on by this process until `deadlineMs` (true when marked now,
   * false when it already was). An order still marked after its deadline lost its worker (a
   * crash): the inflight sweeper hands it to the queue, or just unmarks it if it is settled.
   */
  async track(orderId: string, deadlineMs: number): Promise<boolean> {
    return (await this.redis.zadd(this.keys.inflight(), 'NX', deadlineMs, orderId)) === 1;
  }

  /** The order is settled or safely queued: nothing to recover. */
  async untrack(orderId: string): Promise<void> {
    await this.redis.zrem(this.keys.inflight(), orderId);
  }

  /** Orders whose worker is overdue, oldest first. */
  async overdue(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.inflight(), '-inf', nowMs, 'LIMIT', 0, limit);
  }

  /** The raw stored order (including internal fields such as `reservedDay`). */
  async orderRecord(orderId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.order(orderId));
  }
}
