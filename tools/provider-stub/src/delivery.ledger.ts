import { randomUUID } from 'node:crypto';

/** Per-order detail in `GET /_stats`. */
export type OrderStats = { calls: number; deliveries: number };

/** Body of `GET /_stats`. */
export type StubStats = {
  /** Valid `POST /deliveries` requests received, faulted ones included. */
  calls: number;
  /** Deliveries actually made (a deduplicated repeat is not one). */
  effectiveDeliveries: number;
  /** Detail per orderId, for at most `maxTrackedOrders` orders. */
  byOrder: Record<string, OrderStats>;
  /** Calls answered 503 per orderId (nothing delivered: safe to send again even without order numbers); same cap as `byOrder`. */
  failuresByOrder: Record<string, number>;
  /** True once `byOrder` was full and later orders were left out of it (they still count above). */
  byOrderTruncated: boolean;
};

/** Default cap on `byOrder` entries, so a benchmark cannot grow the stats without bound. */
export const DEFAULT_MAX_TRACKED_ORDERS = 100_000;

/**
 * In-memory record of what the stub delivered, and the counters tests read.
 * With order numbers a repeated orderId is the same delivery (same providerRef, not counted again);
 * without, every call delivers anew. The delivery map itself is not capped: deduplication must stay
 * right however many orders pass, and one entry is an orderId and a ref.
 */
export class DeliveryLedger {
  private readonly refs = new Map<string, string>();
  private calls = 0;
  private effectiveDeliveries = 0;
  private byOrder = new Map<string, OrderStats>();
  private byOrderTruncated = false;
  private failuresByOrder = new Map<string, number>();

  constructor(
    private readonly orderNumbers: boolean,
    private readonly maxTrackedOrders = DEFAULT_MAX_TRACKED_ORDERS,
  ) {}

  /** Counts one valid `POST /deliveries` for `orderId`, before any fault decides its fate. */
  recordCall(orderId: string): void {
    this.calls += 1;
    const entry = this.entry(orderId);
    if (entry) entry.calls += 1;
  }

  /** Counts one call for `orderId` answered 503 (transient, nothing delivered). */
  recordFailure(orderId: string): void {
    if (this.entry(orderId)) this.failuresByOrder.set(orderId, (this.failuresByOrder.get(orderId) ?? 0) + 1);
  }

  /** Delivers (or, with order numbers, finds the earlier delivery) and returns its providerRef. */
  deliver(orderId: string): string {
    const existing = this.orderNumbers ? this.refs.get(orderId) : undefined;
    if (existing !== undefined) return existing;
    const providerRef = `stub-${randomUUID()}`;
    this.refs.set(orderId, providerRef);
    this.effectiveDeliveries += 1;
    const entry = this.entry(orderId);
    if (entry) entry.deliveries += 1;
    return providerRef;
  }

  /** The providerRef of the latest delivery for `orderId`, if any. */
  lookup(orderId: string): string | undefined {
    return this.refs.get(orderId);
  }

  stats(): StubStats {
    return {
      calls: this.calls,
      effectiveDeliveries: this.effectiveDeliveries,
      byOrder: Object.fromEntries(this.byOrder),
      byOrderTruncated: this.byOrderTruncated,
      failuresByOrder: Object.fromEntries(this.failuresByOrder),
    };
  }

  /** Zeroes the counters. Deliveries are kept, so dedup stays right across a reset. */
  resetStats(): void {
    this.calls = 0;
    this.effectiveDeliveries = 0;
    this.byOrder = new Map();
    this.byOrderTruncated = false;
    this.failuresByOrder = new Map();
  }

  private entry(orderId: string): OrderStats | undefined {
    let entry = this.byOrder.get(orderId);
    if (entry) return entry;
    if (this.byOrder.size >= this.maxTrackedOrders) {
      this.byOrderTruncated = true;
      return undefined;
    }
    entry = { calls: 0, deliveries: 0 };
    this.byOrder.set(orderId, entry);
    return entry;
  }
}
