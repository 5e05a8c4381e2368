import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ADMIN_ORDER_VIEW_FIELDS, type AdminOrderView, RedisKeys, toAdminOrderView } from '@app/contracts';
import type { OrderArchive } from '@app/platform';
import { type LifecycleCommands, withLifecycleCommands } from '../lifecycle/lifecycle.scripts.js';
import { ARCHIVER_GROUP, GroupStreamReader, type RoundPlan } from './group-stream.reader.js';

export interface ArchiverOptions {
  /** This archiver's consumer name: stable per instance (hostname:port), so a restart re-reads its own pending entries at once. */
  consumer: string;
  /** Entries read per round (across gifts). */
  batchSize: number;
  /** Pause after a round that archived nothing, in ms. */
  intervalMs: number;
  /**
   * Pause after a round that archived less than a full batch, in ms (0: none), so that under load
   * entries gather into batches instead of each round archiving the few that arrived meanwhile: fewer
   * Redis reads and PostgreSQL statements per order, for at most this much more archive delay.
   */
  lingerMs?: number;
  /** Pending entries of another consumer idle this long are taken over (it died mid-batch), in ms. */
  claimIdleMs: number;
  /** Test-only fault: the process SIGKILLs itself after its first upsert, before acknowledging it. */
  faultKillBeforeAck?: boolean;
}

export interface ArchiverEvents {
  /** Entries archived (or found already archived) and acknowledged, with their delay since settling, in ms. */
  onArchived?(delaysMs: number[]): void;
  onError?(error: Error): void;
}

type Entry = { giftId: string; id: string; orderId: string };

/** How often an archiver removes consumers of instances gone for good, and how long gone that is, in ms. */
const PRUNE_EVERY_MS = 5 * 60_000;
const CONSUMER_GONE_AFTER_MS = 60 * 60_000;

/**
 * Write-behind of settled orders: reads each gift's settlements stream (written by the move to
 * `delivered`/`failed` in the same Lua step) through the consumer group `archivers`, reads the
 * orders' state and history from Redis, upserts them into PostgreSQL in one statement (newer
 * version wins, so a re-applied entry changes nothing), and only then acknowledges and deletes the
 * entries. Any number of archivers may run (one per delivery instance) and join or leave freely:
 *
 * - an archiver killed between upsert and XACK leaves its entries pending: on restart it reads
 *   its own pending entries first (id `0`); if it never comes back, another takes them over with
 *   XAUTOCLAIM once they are idle `claimIdleMs`. Either way they are upserted again, which is a no-op;
 * - PostgreSQL down: the upsert fails, nothing is acknowledged, the round is retried after a pause;
 *   the claim path never touches PostgreSQL, and retention deletes nothing the archive lacks.
 */
export class OrderArchiver {
  private readonly logger = new Logger(OrderArchiver.name);
  private readonly reader: GroupStreamReader;
  private stopped = false;
  private lastPruneMs = Date.now();
  private loop?: Promise<void>;
  private wake?: () => void;

  private readonly redis: Redis & LifecycleCommands;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly archive: OrderArchive,
    private readonly opts: ArchiverOptions,
    private readonly events: ArchiverEvents = {},
    /** More write-behind work done in the same loop (the operator records). */
    private readonly more?: { round(reader: GroupStreamReader, plan: RoundPlan): Promise<{ archived: number; complete: boolean }> },
  ) {
    this.redis = withLifecycleCommands(redis);
    this.reader = new GroupStreamReader(redis, opts);
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let archived = 0;
      let full = false;
      try {
        ({ archived, full } = await this.roundWithRecords());
        failures = 0;
      } catch (err) {
        failures += 1;
        this.events.onError?.(err as Error);
        if (failures === 1 || failures % 20 === 0) this.logger.warn({ event: 'archive.failed', failures, error: (err as Error).message });
      }
      if (archived === 0 || failures > 0) await this.pause(Math.min(this.opts.intervalMs * 2 ** Math.min(failures, 4), 10_000));
      else if (!full && this.opts.lingerMs) await this.pause(this.opts.lingerMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One round: collects up to `batchSize` entries over the gifts, archives them, acknowledges them. Returns how many. */
  async round(): Promise<number> {
    return (await this.roundWithRecords()).archived;
  }

  /** A round of the orders and then of the operator records, under one plan of the shared reader. */
  private async roundWithRecords(): Promise<{ archived: number; full: boolean }> {
    const plan = this.reader.beginRound();
    try {
      const orders = await this.ordersRound(plan);
      const records = this.more ? await this.more.round(this.reader, plan) : { archived: 0, complete: true };
      this.reader.endRound(plan, !orders.full && records.complete);
      return { archived: orders.archived + records.archived, full: orders.full || !records.complete };
    } catch (err) {
      this.reader.recover();
      throw err;
    }
  }

  private async ordersRound(plan: RoundPlan): Promise<{ archived: number; full: boolean }> {
    const entries: Entry[] = [];
    const giftIds = await this.redis.smembers(this.keys.gifts());
    if (Date.now() - this.lastPruneMs > PRUNE_EVERY_MS) {
      this.lastPruneMs = Date.now();
      for (const giftId of giftIds) await this.pruneConsumers(this.keys.giftSettled(giftId));
    }
    for (const giftId of giftIds) {
      if (entries.length >= this.opts.batchSize) break;
      const read = await this.reader.read(this.keys.giftSettled(giftId), this.opts.batchSize - entries.length, plan);
      for (const { id, fields } of read) entries.push({ giftId, id, orderId: fields.o ?? '' });
    }
    const full = entries.length >= this.opts.batchSize;
    if (entries.length === 0) return { archived: 0, full };
    const views = await this.snapshots(entries);
    await this.archive.upsert(views);
    if (this.opts.faultKillBeforeAck) process.kill(process.pid, 'SIGKILL');
    await this.acknowledge(entries);
    const now = Date.now();
    this.events.onArchived?.(entries.map((e) => Math.max(0, now - Number(e.id.split('-')[0]))));
    return { archived: entries.length, full };
  }

  /**
   * The orders as they are now in Redis (a later settlement of the same order has its own entry and
   * a higher version), read with one script per gift (all of a gift's keys share its slot; while a
   * resharding splits the slot's keys between two masters the script meets TRYAGAIN, the round fails
   * and is retried after its pause: the archive lags for the move, its entries stay pending). An order
   * no longer settled (an operator re-queued it) or already gone from Redis (retention deletes only
   * what is archived) is skipped; its entry is still acknowledged.
   */
  private async snapshots(entries: Entry[]): Promise<AdminOrderView[]> {
    const byGift = new Map<string, Set<string>>();
    for (const { giftId, orderId } of entries) if (orderId) byGift.set(giftId, (byGift.get(giftId) ?? new Set()).add(orderId));
    const read = await Promise.all(
      [...byGift].map(async ([giftId, orderIds]) => {
        const keys = [...orderIds].flatMap((orderId) => [this.keys.orderState(giftId, orderId), this.keys.orderHistory(giftId, orderId)]);
        const reply = await this.redis.rpReadOrders(keys.length, ...keys, ...ADMIN_ORDER_VIEW_FIELDS);
        const views: Array<AdminOrderView | undefined> = [];
        for (let i = 0; i < reply.length; i += 2) {
          const hash: Record<string, string> = {};
          reply[i].forEach((value, f) => {
            if (value !== null) hash[ADMIN_ORDER_VIEW_FIELDS[f]] = value;
          });
          views.push(toAdminOrderView(hash, reply[i + 1] as string[]));
        }
        return views;
      }),
    );
    return read.flat().filter((v): v is AdminOrderView => !!v && (v.status === 'delivered' || v.status === 'failed'));
  }

  private async acknowledge(entries: Entry[]): Promise<void> {
    const byGift = new Map<string, string[]>();
    for (const e of entries) byGift.set(e.giftId, [...(byGift.get(e.giftId) ?? []), e.id]);
    for (const [giftId, ids] of byGift) {
      const stream = this.keys.giftSettled(giftId);
      // One slot: XACK then XDEL in one MULTI, so an acknowledged entry never lingers in the stream.
      await this.redis.multi().xack(stream, ARCHIVER_GROUP, ...ids).xdel(stream, ...ids).exec();
    }
  }

  /**
   * Removes consumers of instances that left (idle an hour, nothing pending: a consumer with pending
   * entries is never removed, they are taken over first), so the group does not collect every
   * instance that ever ran.
   */
  async pruneConsumers(stream: string, goneAfterMs = CONSUMER_GONE_AFTER_MS): Promise<number> {
    if (!this.reader.joined(stream)) return 0;
    let removed = 0;
    const consumers = (await this.redis.xinfo('CONSUMERS', stream, ARCHIVER_GROUP).catch(() => [])) as unknown[][];
    for (const raw of consumers) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i < raw.length; i += 2) info[String(raw[i])] = raw[i + 1];
      if (info.name === this.opts.consumer || Number(info.pending) > 0 || Number(info.idle) < goneAfterMs) continue;
      await this.redis.xgroup('DELCONSUMER', stream, ARCHIVER_GROUP, String(info.name));
      removed += 1;
    }
    return removed;
  }

  /** The oldest settlement not archived yet, as its age in ms (0 when none), over every gift. */
  async lagMs(): Promise<number> {
    let oldest = Infinity;
    for (const giftId of await this.redis.smembers(this.keys.gifts())) {
      const [first] = await this.redis.xrange(this.keys.giftSettled(giftId), '-', '+', 'COUNT', 1);
      if (first) oldest = Math.min(oldest, Number(first[0].split('-')[0]));
    }
    return oldest === Infinity ? 0 : Math.max(0, Date.now() - oldest);
  }

  /** Stops after the current round; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }
}
