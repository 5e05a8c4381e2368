import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { RedisKeys } from '@app/contracts';
import { BloomFilter, encodeSoldOutLatch, latchMember } from '@app/platform';
import { SoldOutLatch } from './sold-out.latch.js';

const keys = new RedisKeys('t');
const stored = (giftId: string, seq: number, members: string[] = []) =>
  encodeSoldOutLatch({ giftId, seq, startsAtMs: 1_000, endsAtMs: 9_000, members: BloomFilter.of(members) });

/**
 * A stand-in for the two connections: GETs answer from `values`, or wait for the test to answer
 * them (`held`) so reads can be made to overlap; the subscriber is an EventEmitter.
 */
function fakeRedis() {
  const values = new Map<string, string>();
  const held: Array<{ key: string; answer: (value: string | null) => void }> = [];
  let holding = false;
  const redis = {
    smembers: jest.fn(async () => [...new Set([...values.keys()].map((k) => /\{g:(.*)\}/.exec(k)![1]))]),
    get: jest.fn((key: string) => {
      if (!holding) return Promise.resolve(values.get(key) ?? null);
      return new Promise<string | null>((answer) => held.push({ key, answer }));
    }),
  };
  const subscriber = Object.assign(new EventEmitter(), { subscribe: jest.fn(async () => 1) });
  return {
    redis: redis as unknown as Redis,
    calls: redis,
    subscriber,
    values,
    held,
    hold: (on: boolean) => (holding = on),
    announce: (message: string) => subscriber.emit('message', keys.soldOutChannel(), message),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SoldOutLatch', () => {
  let paused: Set<string>;
  const make = (fake: ReturnType<typeof fakeRedis>, isEnabled = true) =>
    new SoldOutLatch(fake.redis, fake.subscriber as unknown as Redis, keys, { isEnabled: (flag) => paused.has(flag) }, { isEnabled, resyncMs: 60_000, now: () => 5_000 });
  const outcome = (latch: SoldOutLatch, giftId: string, userId: string, orderId: string) => {
    try {
      latch.check(giftId, userId, orderId);
      return 'pass';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  beforeEach(() => (paused = new Set()));

  it('learns latches already stored when it starts, and refuses only new keys of new users of a latched gift', async () => {
    const fake = fakeRedis();
    fake.values.set(keys.giftSoldOutLatch('g1'), stored('g1', 1, [latchMember.order('o1'), latchMember.user('u1')]));
    const latch = make(fake);
    await latch.start();
    expect(fake.subscriber.subscribe).toHaveBeenCalledWith(keys.soldOutChannel());
    expect(latch.latchedGifts()).toEqual(['g1']);
    expect(outcome(latch, 'g1', 'u9', 'new')).toBe('SOLD_OUT');
    expect(outcome(latch, 'g1', 'u9', 'o1')).toBe('pass'); // a repeat
    expect(outcome(latch, 'g1', 'u1', 'new')).toBe('pass'); // a user with orders
    expect(outcome(latch, 'g2', 'u9', 'new')).toBe('pass'); // not latched
    paused.add('gift.g1.paused');
    expect(outcome(latch, 'g1', 'u9', 'new')).toBe('pass'); // NOT_ACTIVE comes first
    expect(latch.hits).toBe(1);
    latch.stop();
  });

  it('applies announcements: armed loads the latch, cleared drops it at once', async () => {
    const fake = fakeRedis();
    const latch = make(fake);
    await latch.start();
    expect(outcome(latch, 'g1', 'u', 'k')).toBe('pass');
    fake.values.set(keys.giftSoldOutLatch('g1'), stored('g1', 1));
    fake.announce('armed|g1');
    await flush();
    expect(outcome(latch, 'g1', 'u', 'k')).toBe('SOLD_OUT');
    fake.values.delete(keys.giftSoldOutLatch('g1'));
    fake.hold(true);
    fake.announce('cleared|g1');
    expect(outcome(latch, 'g1', 'u', 'k')).toBe('pass'); // before its read answers
    fake.subscriber.emit('message', 'other-channel', 'armed|g1'); // not ours: ignored
    expect(fake.held).toHaveLength(1);
    latch.stop();
  });

  it('keeps only the newest read of a gift: an older answer arriving late does not re-latch it', async () => {
    const fake = fakeRedis();
    const latch = make(fake);
    await latch.start();
    fake.hold(true);
    fake.announce('armed|g1'); // read 1, will answer the old latch
    fake.announce('cleared|g1'); // read 2, will answer nothing
    const [first, second] = fake.held;
    second.answer(null);
    await flush();
    first.answer(stored('g1', 1));
    await flush();
    expect(latch.latchedGifts()).toEqual([]);
    latch.stop();
  });

  it('resync repairs a missed announcement and drops latches that are gone', async () => {
    const fake = fakeRedis();
    const latch = make(fake);
    await latch.start();
    fake.values.set(keys.giftSoldOutLatch('g1'), stored('g1', 1));
    await latch.resync();
    expect(latch.latchedGifts()).toEqual(['g1']);
    fake.values.delete(keys.giftSoldOutLatch('g1'));
    await latch.resync();
    expect(latch.latchedGifts()).toEqual([]);
    // A reconnect ('ready' after ioredis re-subscribed) resyncs too.
    fake.values.set(keys.giftSoldOutLatch('g2'), stored('g2', 4));
    fake.subscriber.emit('ready');
    await flush();
    expect(latch.latchedGifts()).toEqual(['g2']);
    latch.stop();
  });

  it('ignores a malformed stored latch and malformed announcements', async () => {
    const fake = fakeRedis();
    fake.values.set(keys.giftSoldOutLatch('g1'), '{"v":9}');
    const latch = make(fake);
    await latch.start();
    fake.announce('nonsense');
    fake.announce('armed|');
    await flush();
    expect(latch.latchedGifts()).toEqual([]);
    expect(outcome(latch, 'g1', 'u', 'k')).toBe('pass');
    latch.stop();
  });

  it('off: never subscribes, reads or refuses', async () => {
    const fake = fakeRedis();
    fake.values.set(keys.giftSoldOutLatch('g1'), stored('g1', 1));
    const latch = make(fake, false);
    await latch.start();
    expect(fake.subscriber.subscribe).not.toHaveBeenCalled();
    expect(fake.calls.get).not.toHaveBeenCalled();
    expect(outcome(latch, 'g1', 'u', 'k')).toBe('pass');
  });
});
