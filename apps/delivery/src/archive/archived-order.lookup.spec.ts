import type { AdminOrderView } from '@app/contracts';
import { Metrics } from '@app/platform';
import type { DeliveryConfig } from '../config/delivery.config.js';
import type { ArchiveAccess } from './archive-access.js';
import { ArchivedOrderLookup } from './archived-order.lookup.js';

// The batching and bounding logic alone: the archive is a stand-in whose queries the test answers by
// hand (the query itself is tested against PostgreSQL in libs/platform's database.spec.ts).
describe('ArchivedOrderLookup', () => {
  type Query = { ids: string[]; answer(found: string[]): void; fail(error: Error): void };
  let queries: Query[];
  const archived = (orderId: string) => ({ orderId, userId: 'u1', giftId: 'g1', status: 'delivered' }) as AdminOrderView;
  const lookup = (timeoutMs = 1_000) => {
    const orders = {
      findMany: (ids: readonly string[]) =>
        new Promise<Map<string, AdminOrderView>>((resolve, reject) =>
          queries.push({ ids: [...ids], answer: (found) => resolve(new Map(found.map((id) => [id, archived(id)]))), fail: reject }),
        ),
    };
    const access = { orders, ready: true, enabled: true } as unknown as ArchiveAccess;
    return new ArchivedOrderLookup(access, { archive: { lookupTimeoutMs: timeoutMs } } as DeliveryConfig, new Metrics('delivery'));
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => (queries = []));

  it('asks the numbers of one event-loop turn in one query, and answers each claim its own', async () => {
    const l = lookup();
    const answers = Promise.all(['a', 'b', 'c', 'a'].map((id) => l.find(id)));
    await turn();
    expect(queries.map((q) => q.ids)).toEqual([['a', 'b', 'c']]);
    queries[0].answer(['b']);
    expect((await answers).map((a) => a.kind)).toEqual(['none', 'found', 'none', 'none']);
  });

  it('keeps one query in flight: numbers asked meanwhile wait and go together in the next one', async () => {
    const l = lookup();
    const first = l.find('a');
    await turn();
    const later = ['b', 'c', 'd'].map((id) => l.find(id));
    await turn();
    await turn();
    expect(queries).toHaveLength(1); // b, c and d wait for a's query instead of three more queries
    queries[0].answer([]);
    expect(await first).toEqual({ kind: 'none' });
    await turn();
    expect(queries.map((q) => q.ids)).toEqual([['a'], ['b', 'c', 'd']]);
    queries[1].answer(['d']);
    expect((await Promise.all(later)).map((a) => a.kind)).toEqual(['none', 'none', 'found']);
  });

  it('answers unknown when the archive is slower than the timeout or fails, then skips it for a while', async () => {
    const l = lookup(20);
    const slow = l.find('a');
    await turn();
    expect(await slow).toEqual({ kind: 'unknown' }); // the query never answered: bounded by the timeout
    expect(await l.find('b')).toEqual({ kind: 'unknown' }); // skipped: no query at all
    expect(queries).toHaveLength(1);
  });

  it('a failing query answers every number of its batch unknown', async () => {
    const l = lookup();
    const answers = Promise.all(['a', 'b'].map((id) => l.find(id)));
    await turn();
    queries[0].fail(new Error('connection refused'));
    expect((await answers).map((a) => a.kind)).toEqual(['unknown', 'unknown']);
  });
});
