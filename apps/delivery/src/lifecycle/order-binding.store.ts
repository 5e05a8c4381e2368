import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { DELIVERY_REDIS } from './delivery-redis.js';
import { type LifecycleCommands, withLifecycleCommands } from './lifecycle.scripts.js';

export type BindResult = { kind: 'new'; createdAtMs: number } | { kind: 'reused' } | { kind: 'existing'; createdAtMs: number };

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
  ) {
    this.redis = withLifecycleCommands(redis);
  }

  async bind(order: OrderRef, nowMs: number): Promise<BindResult> {
    const [kind, createdAtMs] = await this.redis.rpBindOrder(this.keys.orderBinding(order.orderId), order.orderId, order.userId, order.giftId, nowMs);
    if (kind === 'reused') return { kind };
    return { kind: kind === 'new' ? 'new' : 'existing', createdAtMs: Number(createdAtMs) };
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
