import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { DELIVERY_REDIS } from './delivery-redis.js';
import { type LifecycleCommands, withLifecycleCommands } from './lifecycle.scripts.js';
import { RetiredNumbers } from './retired-numbers.js';

/**
 * A new binding says whether its number may have been an order retention removed (the retired-number
 * filter): `no` never, `maybe` (the archive must be asked), `unknown` (the filter is not built).
 */
export type Retired = 'no' | 'maybe' | 'unknown';
/** `ask`: the binding still waits for the archive's answer about its number (see `asked`). */
export type BindResult = { kind: 'new'; createdAtMs: number; retired: Retired } | { kind: 'reused' } | { kind: 'existing'; createdAtMs: number; ask: boolean };

/** Which user and gift an order number belongs to. */
export interface OrderRef {
  orderId: string;
  userId: string;
  giftId: string;
}

/**
 * Order numbers: the idempotency record binding a number to (user, gift) in its own slot, and the
 * user's order index. The order's state lives in its gift's slot (OrderStore).
 */
@Injectable()
export class OrderBindingStore {
  private readonly redis: Redis & LifecycleCommands;

  constructor(
    @Inject(DELIVERY_REDIS) redis: Redis,
    private readonly keys: RedisKeys,
    private readonly retiredNumbers: RetiredNumbers,
  ) {
    this.redis = withLifecycleCommands(redis);
  }

  async bind(order: OrderRef, nowMs: number): Promise<BindResult> {
    const bits = this.retiredNumbers.of(order.orderId);
    const [kind, createdAtMs, flag] = await this.redis.rpBindOrder(this.keys.orderBinding(order.orderId), bits.shard, order.orderId, order.userId, order.giftId, nowMs, bits.slotBytes, ...bits.offsets);
    if (kind === 'reused') return { kind };
    if (kind === 'new') return { kind, createdAtMs: Number(createdAtMs), retired: flag as Retired };
    return { kind: 'existing', createdAtMs: Number(createdAtMs), ask: flag === '1' };
  }

  /** The archive answered about this binding's number (none, or not asked on purpose): repeats need not ask. */
  async asked(orderId: string): Promise<void> {
    await this.redis.hdel(this.keys.orderBinding(orderId), 'ask');
  }

  /**
   * Retention's last step for an archived order: its number into the retired-number filter, then its
   * binding deleted, atomically (a bind that finds no binding finds the bits). False when the binding
   * stays because no shard of the filter's size is there to hold the bits (a repeat then still finds
   * the binding, and the archive answers it: its order state is gone).
   */
  async retire(orderId: string): Promise<boolean> {
    const bits = this.retiredNumbers.of(orderId);
    if (bits.slotBytes <= 0) throw new Error('the retired-number filter\'s size is not known: no binding is retired');
    return (await this.redis.rpRetireBinding(this.keys.orderBinding(orderId), bits.shard, bits.next, bits.slotBytes, ...bits.offsets)) >= 0;
  }

  /** Adds the order to its user's index (idempotent). */
  async indexForUser(order: OrderRef, createdAtMs: number): Promise<void> {
    await this.redis.zadd(this.keys.userOrders(order.userId), 'NX', createdAtMs, order.orderId);
  }

  /** A refused claim's binding lives as long as its refusal record (it is no order). */
  async expire(orderId: string, seconds: number): Promise<void> {
    await this.redis.expire(this.keys.orderBinding(orderId), seconds);
  }

  /** An order started on a binding a refusal had set to expire: it is kept for good now. */
  async persist(orderId: string): Promise<void> {
    await this.redis.persist(this.keys.orderBinding(orderId));
  }

  /** Drops a binding made for a number the archive already holds (Redis need not hold it again). */
  async drop(orderId: string): Promise<void> {
    await this.redis.del(this.keys.orderBinding(orderId));
  }

  /** The user and gift an order number is bound to, or undefined. */
  async binding(orderId: string): Promise<OrderRef | undefined> {
    const [userId, giftId] = await this.redis.hmget(this.keys.orderBinding(orderId), 'userId', 'giftId');
    return userId && giftId ? { orderId, userId, giftId } : undefined;
  }
}
