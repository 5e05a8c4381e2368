import { Injectable, Logger } from '@nestjs/common';
import {
  type ActivityConfig,
  diffActivityConfig,
  type ErrorDetail,
  ErrorCode,
  fail,
  ok,
  type PlanActivityReply,
  type PlanActivityRequest,
  type PublishActivityReply,
  type PublishActivityRequest,
  type GiftConfig,
  type Reply,
} from '@app/contracts';
import { AuditLog } from '@app/platform';
import { BucketRebalancer } from '../inventory/bucket.rebalancer.js';
import { ActivityStore } from './activity.store.js';

/**
 * Publishes an activity. Input: a shape-checked configuration. Output: `{ activityId, updated }`,
 * or INVALID_CONFIG listing every storage violation (a gift owned by another activity, inventory
 * below what is already reserved); nothing is stored then. Re-publishing keeps what was consumed.
 * Publishes are serialised by a short lock; each gift is re-checked atomically as it is written.
 */
@Injectable()
export class PublishService {
  private readonly logger = new Logger(PublishService.name);

  constructor(
    private readonly store: ActivityStore,
    private readonly audit: AuditLog,
    private readonly rebalancer: BucketRebalancer,
  ) {}

  async publish(req: PublishActivityRequest): Promise<Reply<PublishActivityReply>> {
    const result = await this.store.withPublishLock(() => this.publishLocked(req));
    return result ?? fail(ErrorCode.ServiceUnavailable, 'another activity is being published; try again', { retryable: true });
  }

  /**
   * A dry run: the same storage checks as a publish (INVALID_CONFIG listing every violation), then
   * what publishing would change against what is stored. Writes nothing, audits nothing, takes no
   * lock (a publish running meanwhile may make the answer stale; the publish re-checks).
   */
  async plan(req: PlanActivityRequest): Promise<Reply<PlanActivityReply>> {
    const details = await this.storageViolations(req.activityId, req.config);
    if (details.length) return fail(ErrorCode.InvalidConfig, 'activity configuration is invalid', { details });
    const stored = await this.store.storedConfig(req.activityId);
    return ok({ activityId: req.activityId, dryRun: true, changes: diffActivityConfig(stored, req.config) });
  }

  /** Violations only storage can tell: a gift owned by another activity, inventory below what is reserved. */
  private async storageViolations(activityId: string, config: ActivityConfig): Promise<ErrorDetail[]> {
    const ownership = await this.store.giftOwnership(config.gifts.map((g) => g.giftId));
    const details: ErrorDetail[] = [];
    config.gifts.forEach((gift, i) => {
      const owner = ownership[i];
      if (owner.retired) {
        details.push({ path: `gifts[${i}].giftId`, message: `gift ${gift.giftId} was retired after its activity ended (its orders are archived); publish it under a new giftId` });
        return;
      }
      if (owner.activityId && owner.activityId !== activityId) {
        details.push({ path: `gifts[${i}].giftId`, message: `gift ${gift.giftId} belongs to activity ${owner.activityId}` });
      }
      if (owner.activityId && owner.buckets !== (gift.buckets ?? 1)) {
        details.push({ path: `gifts[${i}].buckets`, message: bucketsMessage(owner.buckets) });
      }
      if (gift.inventory < owner.reserved) {
        details.push({ path: `gifts[${i}].inventory`, message: belowMessage(owner.reserved) });
      }
    });
    return details;
  }

  /**
   * Stores a gift. A split gift's inventory lowered below what its buckets were handed is stored
   * with every unreserved unit back in its pool (the inventory may then go down to what is reserved).
   */
  private async upsertGift(activityId: string, gift: GiftConfig, window: { startsAtMs: number; endsAtMs: number }): Promise<string[]> {
    if ((gift.buckets ?? 1) > 1) {
      const [owner] = await this.store.giftOwnership([gift.giftId]);
      if (owner.handedOut > gift.inventory) {
        const stored = await this.rebalancer.withStockInPool(gift.giftId, () => this.store.upsertGift(activityId, gift, window));
        if (!stored) return ['busy', ''];
        return stored.result;
      }
    }
    return this.store.upsertGift(activityId, gift, window);
  }

  private async publishLocked(req: PublishActivityRequest): Promise<Reply<PublishActivityReply>> {
    const { activityId, config } = req;
    const giftIds = config.gifts.map((g) => g.giftId);
    const details = await this.storageViolations(activityId, config);
    if (details.length) return fail(ErrorCode.InvalidConfig, 'activity configuration is invalid', { details });

    const window = { startsAtMs: Date.parse(config.startsAt), endsAtMs: Date.parse(config.endsAt) };
    const previous = await this.store.activityGiftIds(activityId);
    for (const [i, gift] of config.gifts.entries()) {
      const [verdict, value] = await this.upsertGift(activityId, gift, window);
      if (verdict === 'busy') {
        return fail(ErrorCode.ServiceUnavailable, `gift ${gift.giftId}'s stock is being moved between its buckets; try again`, { retryable: true });
      }
      if (verdict !== 'ok') {
        // Lost a race with a claim or another writer between the check and the write.
        const message =
          verdict === 'owned' ? `gift ${gift.giftId} belongs to activity ${value}`
          : verdict === 'retired' ? `gift ${gift.giftId} was retired after its activity ended (its orders are archived); publish it under a new giftId`
          : verdict === 'buckets' ? bucketsMessage(Number(value))
          : belowMessage(Number(value));
        const field = verdict === 'below' ? 'inventory' : verdict === 'buckets' ? 'buckets' : 'giftId';
        return fail(ErrorCode.InvalidConfig, 'activity configuration is invalid', { details: [{ path: `gifts[${i}].${field}`, message }] });
      }
      // A split gift's pool goes to its buckets now, so its first claims find stock.
      if ((gift.buckets ?? 1) > 1) await this.rebalancer.rebalance(gift.giftId);
    }
    for (const dropped of (previous ?? []).filter((id) => !giftIds.includes(id))) await this.store.closeGift(dropped);
    await this.store.saveActivity(activityId, config, window);
    await this.audit.record({ actor: req.actor, action: previous ? 'activity.update' : 'activity.publish', target: activityId, reason: req.reason ?? '' });
    await this.store.recordVersion(activityId, config, req.actor, req.reason ?? '');
    this.logger.log({ event: 'activity.published', activityId, gifts: giftIds.length, requestId: req.meta.requestId });
    return ok({ activityId, updated: previous !== undefined });
  }
}

function bucketsMessage(stored: number): string {
  return `cannot change once the gift is published (it has ${stored} bucket${stored === 1 ? '' : 's'})`;
}

function belowMessage(used: number): string {
  return `must not be below the ${used} already reserved`;
}
