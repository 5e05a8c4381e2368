import type { Redis } from 'ioredis';
import type { RedisKeys } from '@app/contracts';
import { Metrics } from '@app/platform';
import { redisPerTest } from '../../../../test/support/redis.js';
import type { DeliveryConfig } from '../config/delivery.config.js';
import { DurabilityFence } from '../lifecycle/durability-fence.js';
import { OrderStore } from '../lifecycle/order.store.js';
import type { GuardedProvider } from '../provider/guarded-provider.js';
import type { BeforeSend, ProviderOutcome } from '../provider/provider.client.js';
import { OrderDeliverer } from './order-deliverer.js';

/**
 * The send record around a provider call, with the lifecycle scripts on a real Redis and a provider
 * that reports what the order's record was when the call would have gone out.
 */
describe('OrderDeliverer: the send record of an attempt whose take recorded it', () => {
  const spec = redisPerTest();
  let redis: Redis;
  let keys: RedisKeys;
  let store: OrderStore;
  const now = Date.now();
  const config = { attemptLeaseMs: 60_000, reconcileQueuedAfterMs: 30_000, refusalRetentionS: 86_400, fenceTimeoutMs: 500 } as DeliveryConfig;
  const order = { orderId: 'o1', userId: 'u1', giftId: 'g1', requestId: 'r1' };
  const target = { providerUrl: 'http://127.0.0.1:7001', orderNumbers: false };
  const sentEpoch = () => redis.hget(keys.orderState('g1', 'o1'), 'sentEpoch');

  /** A provider whose slot is free (or not), answering `outcome` after noting the record at send time. */
  function provider(atOnce: boolean, outcome: ProviderOutcome) {
    const seen: { recordAtSend?: string | null; ownRecord?: boolean } = {};
    const fake = {
      sendsAtOnce: () => atOnce,
      async deliver(_url: string, _body: unknown, beforeSend?: BeforeSend): Promise<ProviderOutcome> {
        seen.ownRecord = !!beforeSend;
        if (beforeSend && !(await beforeSend())) return { kind: 'not-sent', reason: 'lost' };
        seen.recordAtSend = await sentEpoch();
        return outcome;
      },
    };
    return { fake: fake as unknown as GuardedProvider, seen };
  }

  async function startSyncClaim(): Promise<void> {
    await redis.hset(keys.gift('g1'), {
      activityId: 'a1', inventory: 10, reserved: 0, dailyLimit: 0, perUserLimit: 5, delivery: 'sync',
      providerUrl: target.providerUrl, orderNumbers: '0', startsAtMs: now - 60_000, endsAtMs: now + 60_000,
    });
    const started = await store.start(order, { nowMs: now, day: new Date(now).toISOString().slice(0, 10), createdAtMs: now, uncertainLimit: 2, paused: false, forceAsync: false, sendRecord: 'always' });
    expect(started).toMatchObject({ kind: 'started', status: 'delivering', epoch: 1, sentMarked: true });
  }

  const deliverer = (fake: GuardedProvider) => new OrderDeliverer(store, fake, new DurabilityFence(redis, 0), config, new Metrics('delivery'));

  beforeEach(() => {
    ({ redis, keys } = spec);
    store = new OrderStore(redis, keys, config);
  });

  it('a call that goes at once is sent under the take\'s record, with no record of its own', async () => {
    await startSyncClaim();
    const { fake, seen } = provider(true, { kind: 'delivered', providerRef: 'p1' });
    expect(await deliverer(fake).attempt(order, 1, target, { actor: 'claim', finalAttempt: false, sentMarked: true })).toMatchObject({ status: 'delivered', lost: false });
    expect(seen).toEqual({ ownRecord: false, recordAtSend: '1' });
  });

  it('a call that must wait for a slot clears the take\'s record, and records its own just before it goes', async () => {
    await startSyncClaim();
    let recordWhileWaiting: string | null = null;
    const { fake, seen } = provider(false, { kind: 'delivered' });
    const deliver = fake.deliver.bind(fake);
    fake.deliver = async (url, body, beforeSend) => {
      recordWhileWaiting = await sentEpoch();
      return deliver(url, body, beforeSend);
    };
    await deliverer(fake).attempt(order, 1, target, { actor: 'claim', finalAttempt: false, sentMarked: true });
    expect(recordWhileWaiting).toBe('0');
    expect(seen).toEqual({ ownRecord: true, recordAtSend: '1' });
  });

  it('a call that was not sent requeues the order without the take\'s record; one that may have been sent keeps it', async () => {
    await startSyncClaim();
    const notSent = provider(true, { kind: 'not-sent', reason: 'circuit open' });
    expect(await deliverer(notSent.fake).attempt(order, 1, target, { actor: 'claim', finalAttempt: false, sentMarked: true })).toMatchObject({ status: 'queued' });
    expect(await redis.hmget(keys.orderState('g1', 'o1'), 'status', 'sentEpoch')).toEqual(['queued', '0']);

    const taken = await store.takeUnsent(order, 'worker', 'always');
    expect(taken).toMatchObject({ epoch: 2, sentMarked: true });
    const noAnswer = provider(true, { kind: 'unknown', reason: 'socket hang up' });
    expect(await deliverer(noAnswer.fake).attempt(order, 2, target, { actor: 'worker', finalAttempt: false, sentMarked: true })).toMatchObject({ status: 'uncertain' });
    expect(await sentEpoch()).toBe('2');
  });
});
