import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { type ClaimRefusal, giftBuckets, parseHistoryLine, RedisKeys } from '@app/contracts';
import { DELIVERY_CONFIG, type DeliveryConfig } from '../config/delivery.config.js';
import { DELIVERY_REDIS } from './delivery-redis.js';
import { type LifecycleCommands, withLifecycleCommands } from './lifecycle.scripts.js';
import type { OrderRef } from './order-binding.store.js';
import { OutcomeReports, reportedOutcome } from './outcome-reports.js';
import { SoldOutLatchWriter } from './sold-out-latch.writer.js';
import { type Actor, type LifecycleStatus, transitionFor } from './order-transitions.js';

/** An order's state as stored in its gift's slot. */
export interface OrderState extends OrderRef {
  activityId: string;
  status: LifecycleStatus;
  /** One more per status change: lets readers order announcements. */
  version: number;
  /** Number of the latest attempt (0 before any). */
  epoch: number;
  /** The latest epoch whose provider call was about to be sent (0 if none). */
  sentEpoch: number;
  /** An attempt was sent and got no answer (or was cut off after sending): it may have delivered. */
  maybeDelivered: boolean;
  attempts: number;
  createdAtMs: number;
  updatedAtMs: number;
  reservedDay: string;
  error?: string;
  providerRef?: string;
  refusal?: ClaimRefusal;
  /** Why a failed order failed: the provider refused it, or its tries ran out. */
  failure?: 'refused' | 'exhausted';
}

/** Where an order's gift is delivered. */
export interface ProviderTarget {
  providerUrl: string;
  orderNumbers: boolean;
}

/**
 * Whether a take records the attempt's send at once (see take-attempt.lua), for a caller that sends
 * right after it: `always`, or `with-order-numbers` while the durability fence must WAIT for a replica
 * before a provider without order numbers is called (that record goes out with the WAIT instead).
 */
export type SendRecord = 'always' | 'with-order-numbers' | 'never';

const SEND_RECORD_ARG: Record<SendRecord, string> = { always: '1', 'with-order-numbers': 'n', never: '0' };

export type StartResult =
  /** `sentMarked`: the take recorded the send (a sync claim, see SendRecord). */
  | { kind: 'started' | 'existing'; status: LifecycleStatus; epoch: number; target: ProviderTarget; sentMarked: boolean }
  /**
   * RETIRED: the gift was retired by retention (a NOT_ACTIVE to the client; its orders are archived).
   * REBALANCING: the user's bucket of a split gift is empty, others may not be (nothing stored).
   */
  | { kind: 'refused'; code: ClaimRefusal | 'NOT_FOUND' | 'RETIRED' | 'REBALANCING' };

export type TakeResult = { taken: true; epoch: number } | { taken: false; status: LifecycleStatus; epoch: number; why: 'moved' | 'leased' | 'sent' };

export type MoveResult =
  | { moved: true; version: number }
  | { moved: false; status: LifecycleStatus | ''; epoch: number }
  /** A re-reservation the claim rules refuse (REBALANCING: the order's bucket of a split gift is empty, others may not be). */
  | { moved: false; refused: 'USER_LIMIT_REACHED' | 'SOLD_OUT' | 'DAILY_LIMIT_REACHED' | 'REBALANCING' };

export interface HistoryEntry {
  status: LifecycleStatus;
  atMs: number;
  actor: Actor;
  reason?: string;
}

/**
 * The order lifecycle's storage: every status change of an order is one script in its gift's slot
 * that checks the exact status (and attempt epoch) its caller read and does the side effects the
 * transition table names. The only class that writes an order's status.
 */
@Injectable()
export class OrderStore {
  private readonly redis: Redis & LifecycleCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
    @Inject(DELIVERY_CONFIG) private readonly config: DeliveryConfig,
    /** Builds a gift's sold-out latch when a script reports the gift just sold out (absent: none built). */
    @Optional() private readonly latches?: SoldOutLatchWriter,
    /** Told of each first settlement (analytics; absent: none reported). */
    @Optional() private readonly outcomes?: OutcomeReports,
  ) {
    this.redis = withLifecycleCommands(redis);
  }

  /**
   * none -> queued | delivering | refused: checks the claim rules, reserves and creates the order;
   * or returns the state the order already has (a repeat). `forceAsync` is read once by the caller.
   */
  async start(
    order: OrderRef,
    opts: { nowMs: number; day: string; createdAtMs: number; uncertainLimit: number; paused: boolean; forceAsync: boolean; sendRecord?: SendRecord },
  ): Promise<StartResult> {
    const k = this.keys;
    const { orderId, userId, giftId } = order;
    const [kind, status, epoch, refusal, providerUrl, orderNumbers, latchSeq, sentMarked] = await this.redis.rpStartClaim(
      k.gift(giftId), k.giftDay(giftId, opts.day), k.giftUser(giftId, userId), k.giftLedger(giftId),
      k.orderState(giftId, orderId), k.orderHistory(giftId, orderId), k.giftOpenOrders(giftId), k.giftOrders(giftId), k.giftSoldOutLatch(giftId),
      orderId, userId, giftId, opts.nowMs, opts.day, opts.uncertainLimit, opts.paused ? '1' : '0', opts.forceAsync ? '1' : '0',
      opts.createdAtMs, this.config.attemptLeaseMs, this.config.reconcileQueuedAfterMs, k.orderEvents(orderId), this.config.refusalRetentionS,
      SEND_RECORD_ARG[opts.sendRecord ?? 'never'],
    );
    this.latches?.arm(giftId, Number(latchSeq));
    if (kind === 'refused' || status === 'refused') return { kind: 'refused', code: refusal as ClaimRefusal | 'NOT_FOUND' | 'RETIRED' | 'REBALANCING' };
    return {
      kind: kind as 'started' | 'existing',
      status: status as LifecycleStatus,
      epoch: Number(epoch),
      target: { providerUrl, orderNumbers: orderNumbers === '1' },
      sentMarked: sentMarked === '1',
    };
  }

  /** queued | delivering -> delivering with a new epoch, leased to the caller. See take-attempt.lua. */
  async take(order: OrderRef, from: 'queued' | 'delivering', epoch: number, actor: Actor, opts: { sentTakeover: boolean }): Promise<TakeResult> {
    transitionFor(from, 'delivering', actor);
    const [taken, a, b, why] = await this.takeAttempt(order, from, epoch, actor, opts.sentTakeover);
    if (taken === 1) return { taken: true, epoch: Number(a) };
    return { taken: false, status: a as LifecycleStatus, epoch: Number(b), why: why as 'moved' | 'leased' | 'sent' };
  }

  /**
   * A queue job's first step, one script instead of reading the order and then taking it: takes
   * the attempt if the order is `queued`, none of its attempts was ever sent and its gift names a
   * provider (a job's usual case), and answers what the job needs of order and gift. Undefined
   * otherwise: the caller reads the order ({@link stateWithTarget}) and decides.
   */
  async takeUnsent(
    order: OrderRef,
    actor: Actor,
    sendRecord: SendRecord = 'never',
  ): Promise<{ epoch: number; createdAtMs: number; target: ProviderTarget; sentMarked: boolean } | undefined> {
    transitionFor('queued', 'delivering', actor);
    const [taken, epoch, createdAtMs, providerUrl, orderNumbers, sentMarked] = await this.takeAttempt(order, 'queued', '', actor, false, sendRecord);
    if (taken !== 1 || !providerUrl) return undefined;
    return { epoch: Number(epoch), createdAtMs: Number(createdAtMs ?? 0), target: { providerUrl, orderNumbers: orderNumbers === '1' }, sentMarked: sentMarked === '1' };
  }

  private takeAttempt(order: OrderRef, from: 'queued' | 'delivering', epoch: number | '', actor: Actor, sentTakeover: boolean, sendRecord: SendRecord = 'never') {
    const k = this.keys;
    return this.redis.rpTakeAttempt(
      k.orderState(order.giftId, order.orderId), k.orderHistory(order.giftId, order.orderId), k.giftOpenOrders(order.giftId), k.gift(order.giftId),
      order.orderId, from, epoch, actor, this.config.attemptLeaseMs, k.orderEvents(order.orderId), sentTakeover ? '1' : '0', SEND_RECORD_ARG[sendRecord],
    );
  }

  /**
   * Renews a running attempt's lease, and records its send when `markSent` (or clears the record its
   * take made, when `unmarkSent`: the call could not go out at once); with `replicas` > 0 the
   * write must also reach that many replicas within `fenceTimeoutMs` (Redis WAIT) before the call
   * may go out. True while the attempt owns the order (and the fence held).
   */
  async hold(order: OrderRef, epoch: number, opts: { markSent: boolean; unmarkSent?: boolean; replicas?: number; fenceTimeoutMs?: number }): Promise<boolean> {
    const send = opts.markSent ? '1' : opts.unmarkSent ? 'u' : '0';
    const args = [this.keys.orderState(order.giftId, order.orderId), this.keys.giftOpenOrders(order.giftId), order.orderId, epoch, this.config.attemptLeaseMs, send] as const;
    if (!opts.replicas) return (await this.redis.rpHoldAttempt(...args)) === 1;
    // One pipeline: on a cluster it goes to the gift's master, whose replicas WAIT counts.
    const pipeline = this.redis.pipeline() as unknown as FencePipeline;
    pipeline.rpHoldAttempt(...args);
    pipeline.wait(opts.replicas, opts.fenceTimeoutMs ?? 500);
    const replies = (await pipeline.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const owns = replies[0]?.[1] === 1;
    const acked = Number(replies[1]?.[1] ?? 0);
    if (owns && acked < opts.replicas) throw new DurabilityFenceError(acked, opts.replicas);
    return owns;
  }

  /**
   * Moves the order from the status its caller read (`from`, and `epoch` when given) to `to`, with
   * the side effects of the transition table. Throws IllegalTransitionError for a move the table
   * does not have.
   */
  async move(
    order: OrderRef,
    from: LifecycleStatus,
    to: LifecycleStatus,
    actor: Actor,
    opts: { epoch?: number; reason?: string; fields?: Record<string, string>; leaseEnded?: boolean } = {},
  ): Promise<MoveResult> {
    const row = transitionFor(from, to, actor);
    const k = this.keys;
    const { orderId, giftId } = order;
    const extra = Object.entries(opts.fields ?? {}).flat();
    const [code, a, b] = await this.redis.rpMoveOrder(
      k.orderState(giftId, orderId), k.orderHistory(giftId, orderId), k.giftOpenOrders(giftId),
      k.gift(giftId), k.giftUser(giftId, order.userId), k.giftLedger(giftId), k.giftUncertainOrders(giftId), k.giftSoldOutLatch(giftId), k.giftSettled(giftId),
      orderId, from, to, opts.epoch ?? '', row.effects.join(','), actor, (opts.reason ?? '').slice(0, 300),
      this.config.reconcileQueuedAfterMs, k.orderEvents(orderId), k.giftSlot(giftId), opts.leaseEnded ? '1' : '0',
      k.soldOutChannel(), giftId, ...extra,
    );
    if (code === 1) {
      this.latches?.arm(giftId, Number(b ?? 0));
      const outcome = this.outcomes && reportedOutcome(from, to);
      if (outcome) this.outcomes!.outcome({ orderId, giftId: giftBuckets.giftOf(giftId), status: outcome, at: Date.now() }, actor);
      return { moved: true, version: Number(a) };
    }
    if (code === -1) return { moved: false, refused: a as 'USER_LIMIT_REACHED' | 'SOLD_OUT' | 'DAILY_LIMIT_REACHED' | 'REBALANCING' };
    return { moved: false, status: a as LifecycleStatus | '', epoch: Number(b ?? 0) };
  }

  async state(giftId: string, orderId: string): Promise<OrderState | undefined> {
    return parseOrderState(await this.redis.hgetall(this.keys.orderState(giftId, orderId)));
  }

  /**
   * An order's state and where its gift is delivered, in one round trip (both in the gift's slot):
   * what a delivery job reads before it takes an attempt.
   */
  async stateWithTarget(giftId: string, orderId: string): Promise<{ state?: OrderState; target?: ProviderTarget }> {
    const replies = (await this.redis
      .pipeline()
      .hgetall(this.keys.orderState(giftId, orderId))
      .hmget(this.keys.gift(giftId), 'providerUrl', 'orderNumbers')
      .exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const state = parseOrderState(replies[0]?.[1] as Record<string, string>);
    const [providerUrl, orderNumbers] = replies[1]?.[1] as [string | null, string | null];
    return { state, target: providerUrl ? { providerUrl, orderNumbers: orderNumbers === '1' } : undefined };
  }

  async history(giftId: string, orderId: string): Promise<HistoryEntry[]> {
    const raw = await this.redis.lrange(this.keys.orderHistory(giftId, orderId), 0, -1);
    return raw.map(parseHistoryEntry);
  }

  /** Open orders of a gift due for a look (lease ended, or queued-check time reached), oldest first. */
  async dueOpenOrders(giftId: string, nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.giftOpenOrders(giftId), '-inf', nowMs, 'LIMIT', 0, limit);
  }

  /** Looks at a queued order again after `reconcileQueuedAfterMs` (only while it is listed as open). */
  async rewatch(giftId: string, orderId: string, nowMs: number): Promise<void> {
    await this.redis.zadd(this.keys.giftOpenOrders(giftId), 'XX', nowMs + this.config.reconcileQueuedAfterMs, orderId);
  }

  /** Drops an order that is no longer open from the gift's open list. */
  async unlist(giftId: string, orderId: string): Promise<void> {
    await this.redis.zrem(this.keys.giftOpenOrders(giftId), orderId);
  }

  /** Every published gift. */
  async giftIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.gifts());
  }

  /** Redis server time in ms: the clock of leases, shared by every instance. */
  async serverTimeMs(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}

interface FencePipeline {
  rpHoldAttempt(...args: readonly unknown[]): unknown;
  wait(replicas: number, timeoutMs: number): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** The replicas did not acknowledge the send record in time: the call must not go out. */
export class DurabilityFenceError extends Error {
  constructor(acked: number, wanted: number) {
    super(`durability fence: ${acked} of ${wanted} replicas acknowledged the attempt in time`);
    this.name = 'DurabilityFenceError';
  }
}

export function parseOrderState(hash: Record<string, string>): OrderState | undefined {
  if (!hash.orderId || !hash.status) return undefined;
  return {
    orderId: hash.orderId,
    userId: hash.userId,
    giftId: hash.giftId,
    activityId: hash.activityId ?? '',
    status: hash.status as LifecycleStatus,
    version: Number(hash.version ?? 0),
    epoch: Number(hash.epoch ?? 0),
    sentEpoch: Number(hash.sentEpoch ?? 0),
    maybeDelivered: hash.maybeDelivered === '1',
    attempts: Number(hash.attempts ?? 0),
    createdAtMs: Number(hash.createdAtMs ?? 0),
    updatedAtMs: Number(hash.updatedAtMs ?? 0),
    reservedDay: hash.reservedDay ?? '',
    ...(hash.error ? { error: hash.error } : {}),
    ...(hash.providerRef ? { providerRef: hash.providerRef } : {}),
    ...(hash.refusal ? { refusal: hash.refusal as ClaimRefusal } : {}),
    ...(hash.failure === 'refused' || hash.failure === 'exhausted' ? { failure: hash.failure } : {}),
  };
}

function parseHistoryEntry(raw: string): HistoryEntry {
  const line = parseHistoryLine(raw);
  return { ...line, status: line.status as LifecycleStatus, actor: line.actor as Actor };
}
