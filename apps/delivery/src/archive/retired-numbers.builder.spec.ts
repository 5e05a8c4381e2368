import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type AdminOrderView, RedisKeys } from '@app/contracts';
import { OrderArchive } from '@app/platform';
import { useTestDatabase } from '../../../../test/support/database.js';
import { deletePrefix, useTestRedis, type TestRedis } from '../../../../test/support/redis.js';
import { OrderBindingStore } from '../lifecycle/order-binding.store.js';
import { CLUSTER_SLOTS, RetiredNumbers, slotTags } from '../lifecycle/retired-numbers.js';
import { RetiredNumbersBuilder } from './retired-numbers.builder.js';

// Real Redis and PostgreSQL: the retired-number filter answers `no` only from a complete shard, and
// every number retention retired or the archive holds is `maybe`.
describe('the retired-number filter (bind, retire, build)', () => {
  let testRedis: TestRedis;
  let redis: Redis;
  let keys: RedisKeys;
  let t: Awaited<ReturnType<typeof useTestDatabase>>;
  let archive: OrderArchive;
  const SLOT_BYTES = 8;
  const now = Date.now();

  /** One instance's view: its own RetiredNumbers (size adopted from the marker), bindings and builder. */
  const instance = (slotBytes = SLOT_BYTES) => {
    const numbers = new RetiredNumbers(keys);
    return { numbers, bindings: new OrderBindingStore(redis, keys, numbers), builder: new RetiredNumbersBuilder(redis, keys, numbers, archive, { lockMs: 10_000, slotBytes }) };
  };
  const ref = (orderId: string) => ({ orderId, userId: 'u1', giftId: 'g1' });
  const archived = (orderId: string): AdminOrderView => ({
    orderId, giftId: 'g1', activityId: 'a1', userId: 'u1', status: 'delivered', attempts: 1, version: 2,
    createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', history: [],
  });
  const shardKeys = async () => (await redis.keys(`${keys.prefix}:{rn:*}:retired`)).length;

  beforeAll(async () => {
    testRedis = await useTestRedis();
    redis = new Redis(testRedis.url);
  });
  beforeEach(async () => {
    keys = new RedisKeys(`unit-${randomUUID().slice(0, 8)}`);
    t = await useTestDatabase();
    archive = new OrderArchive(t.db);
  });
  afterEach(async () => {
    await deletePrefix(testRedis.url, keys.prefix);
    await t.drop();
  });
  afterAll(async () => {
    redis.disconnect();
    await testRedis.stop();
  });

  it('before the filter is built a new number is unknown (asked), after it a never-retired number is no', async () => {
    const { bindings, builder, numbers } = instance();
    expect(await bindings.bind(ref('n-1'), now)).toEqual({ kind: 'new', createdAtMs: now, retired: 'unknown' });
    expect(await builder.ensure()).toBe(true);
    expect(numbers.size).toBe(SLOT_BYTES);
    expect(await shardKeys()).toBe(CLUSTER_SLOTS);
    expect(await redis.strlen(keys.retiredNumbers(slotTags()[0]))).toBe(SLOT_BYTES);
    expect(await redis.get(keys.retiredNumbersReady())).toBe(String(SLOT_BYTES));
    expect(await bindings.bind(ref('n-2'), now)).toEqual({ kind: 'new', createdAtMs: now, retired: 'no' });
    // A binding answered `no` needs no archive answer: its repeat does not ask.
    expect(await bindings.bind(ref('n-2'), now + 1)).toEqual({ kind: 'existing', createdAtMs: now, ask: false });
  });

  it('a number retention retired is maybe when bound again (bits and binding in one step); others stay no', async () => {
    const { bindings, builder } = instance();
    await builder.ensure();
    const ids = Array.from({ length: 50 }, (_, i) => `r-${i}`);
    for (const id of ids) expect((await bindings.bind(ref(id), now)).kind).toBe('new');
    for (const id of ids) expect(await bindings.retire(id)).toBe(true);
    for (const id of ids) expect(await redis.exists(keys.orderBinding(id))).toBe(0);
    for (const id of ids) expect(await bindings.bind(ref(id), now)).toEqual({ kind: 'new', createdAtMs: now, retired: 'maybe' });
    expect(await bindings.bind(ref('r-0'), now + 1)).toEqual({ kind: 'existing', createdAtMs: now, ask: true });
    // 50 numbers in 16,384 shards of 64 bits: another number sharing all 7 bits is all but impossible.
    const fresh = await Promise.all(Array.from({ length: 50 }, (_, i) => bindings.bind(ref(`f-${i}`), now)));
    expect(fresh.every((b) => b.kind === 'new' && b.retired === 'no')).toBe(true);
  });

  it('builds from the archive: every archived number is maybe, also after Redis lost the filter', async () => {
    const held = Array.from({ length: 30 }, (_, i) => `a-${i}`);
    await archive.upsert(held.map(archived));
    const first = instance();
    expect(await first.builder.ensure()).toBe(true);
    for (const id of held) expect(await first.bindings.bind(ref(id), now)).toMatchObject({ kind: 'new', retired: 'maybe' });

    // Redis loses the filter (and the bindings): unknown until rebuilt, never a wrong `no`.
    await deletePrefix(testRedis.url, keys.prefix);
    for (const id of held.slice(0, 5)) expect(await first.bindings.bind(ref(id), now)).toMatchObject({ kind: 'new', retired: 'unknown' });
    await deletePrefix(testRedis.url, keys.prefix);
    expect(await first.builder.ensure()).toBe(true);
    for (const id of held) expect(await first.bindings.bind(ref(id), now)).toMatchObject({ kind: 'new', retired: 'maybe' });
    expect(await redis.keys(`${keys.prefix}:*retired-next`)).toEqual([]);
  });

  it('one instance builds at a time; the others adopt the built size, whatever they are configured with', async () => {
    const a = instance(SLOT_BYTES);
    const b = instance(SLOT_BYTES * 4);
    await redis.set(keys.retiredNumbersBuildLock(), 'someone-else', 'PX', 10_000);
    expect(await a.builder.ensure()).toBe(false);
    expect(a.numbers.size).toBe(0);
    await redis.del(keys.retiredNumbersBuildLock());
    expect(await a.builder.ensure()).toBe(true);
    expect(await b.builder.ensure()).toBe(true);
    expect(b.numbers.size).toBe(SLOT_BYTES);
    await a.bindings.bind(ref('x-1'), now);
    await a.bindings.retire('x-1');
    expect(await b.bindings.bind(ref('x-1'), now)).toMatchObject({ retired: 'maybe' });
  });

  it('without an archive every number is new and never marked to ask (nothing is ever retired)', async () => {
    const bindings = new OrderBindingStore(redis, keys, new RetiredNumbers(keys, false));
    expect(await bindings.bind(ref('w-1'), now)).toEqual({ kind: 'new', createdAtMs: now, retired: 'no' });
    expect(await bindings.bind(ref('w-1'), now + 1)).toEqual({ kind: 'existing', createdAtMs: now, ask: false });
    expect(await redis.hkeys(keys.orderBinding('w-1'))).toEqual(['orderId', 'userId', 'giftId', 'createdAtMs']);
  });

  it('a shard of another size is never read as no (an instance still on an old size answers unknown)', async () => {
    const { builder } = instance();
    await builder.ensure();
    const stale = new RetiredNumbers(keys);
    stale.useSize(SLOT_BYTES * 2);
    const bindings = new OrderBindingStore(redis, keys, stale);
    expect(await bindings.bind(ref('s-1'), now)).toMatchObject({ kind: 'new', retired: 'unknown' });
    await expect(new OrderBindingStore(redis, keys, new RetiredNumbers(keys)).retire('s-1')).rejects.toThrow(/size is not known/);
  });
});
