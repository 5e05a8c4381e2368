import { useTestDatabase } from '../../../../test/support/database.js';
import type { Database } from '../database/database.js';
import { AnalyticsStore, type CounterRow } from './analytics-store.js';
import { latencyBucket } from './latency-histogram.js';

// On the real PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), one schema per run.
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0); // in the past: pruning by age removes it

/** What the analyzer builds for `ids`: one claim (delivered, 10 ms) per id, at T0 + its index in minutes % 3. */
const rowsFor = (ids: readonly string[]): CounterRow[] =>
  ids.flatMap((id) => {
    const minuteMs = T0 + (Number(id.split('-')[1]) % 3) * MIN;
    const base = { minuteMs, activityId: 'a1', giftId: 'g1', provider: 'http://p:1', count: 1 };
    return [
      { ...base, metric: 'claims' },
      { ...base, metric: 'delivered' },
      { ...base, metric: `latency:${latencyBucket(10)}` },
    ];
  });

describe('AnalyticsStore (exactly-once counting)', () => {
  let t: { db: Database; drop(): Promise<void> };
  let store: AnalyticsStore;
  beforeAll(async () => {
    t = await useTestDatabase();
    store = new AnalyticsStore(t.db);
  });
  afterAll(async () => t?.drop());

  it('counts a re-applied batch (an analyzer died after its commit) once, and a partly new batch only for its new ids', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `1-${i}`);
    expect(await store.apply(ids, (fresh) => rowsFor(ids.filter((id) => fresh.has(id))))).toEqual({ fresh: 100 });
    expect(await store.apply(ids, (fresh) => rowsFor(ids.filter((id) => fresh.has(id))))).toEqual({ fresh: 0 });
    const more = [...ids.slice(50), '1-100', '1-101'];
    expect(await store.apply(more, (fresh) => rowsFor(more.filter((id) => fresh.has(id))))).toEqual({ fresh: 2 });
    const view = await store.activity('a1', 5, T0 + 2 * MIN + 5_000);
    expect(view.totals).toMatchObject({ claims: 102, delivered: 102, failed: 0, successRate: 1 });
    expect(view.totals.p50Ms).toBeCloseTo(10, -1);
  });

  it('two analyzers applying overlapping batches at once (a takeover racing the original) count each id once, without deadlock', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `2-${i}`);
    const batches = Array.from({ length: 12 }, (_, b) => ids.slice(b * 40, b * 40 + 120)); // every id in up to 3 batches
    const results = await Promise.all(batches.map((batch) => store.apply(batch, (fresh) => rowsFor(batch.filter((id) => fresh.has(id))))));
    expect(results.reduce((n, r) => n + r.fresh, 0)).toBe(ids.slice(0, 11 * 40 + 120).length);
    const view = await store.activity('a1', 5, T0 + 2 * MIN + 5_000);
    expect(view.totals.claims).toBe(102 + 560);
    // The per-minute series adds up to the totals, minute by minute in order.
    const [gift] = view.gifts;
    expect(gift.series.map((m) => m.minute)).toEqual([0, 1, 2].map((i) => new Date(T0 + i * MIN).toISOString()));
    expect(gift.series.reduce((n, m) => n + m.claims, 0)).toBe(662);
  });

  it('answers refusals by code, success rate and the ranking by failing deliveries', async () => {
    const row = (activityId: string, metric: string, count: number): CounterRow => ({ minuteMs: T0, activityId, giftId: `${activityId}-g`, provider: 'http://p:2', metric, count });
    await store.apply(['3-1'], () => [row('a2', 'claims', 20), row('a2', 'delivered', 9), row('a2', 'failed', 1), row('a2', 'refused:SOLD_OUT', 10), row('a3', 'claims', 5), row('a3', 'uncertain', 3), row('a3', 'delivered', 2)]);
    const a2 = await store.activity('a2', 60, T0 + 30 * MIN);
    expect(a2.totals).toEqual({ claims: 20, delivered: 9, failed: 1, uncertain: 0, refusals: { SOLD_OUT: 10 }, successRate: 0.9, p50Ms: null, p99Ms: null });
    expect(a2.from).toBe(new Date(T0 + 30 * MIN - 59 * MIN).toISOString());
    const ranking = await store.ranking(60, 10, T0 + 30 * MIN);
    expect(ranking.map((r) => [r.activityId, r.failing])).toEqual([['a3', 3], ['a2', 1], ['a1', 0]]);
    expect(await store.activity('a2', 1, T0 + 30 * MIN)).toMatchObject({ gifts: [], totals: { claims: 0 } }); // outside the period
  });

  it('replaces the firing alerts, keeping since of one still firing', async () => {
    const alert = { activityId: 'a3', rule: 'page', objective: 0.995, longBurn: 20, shortBurn: 30 };
    await store.replaceAlerts([alert], T0);
    await store.replaceAlerts([{ ...alert, shortBurn: 40 }, { ...alert, activityId: 'a2', rule: 'ticket' }], T0 + 10_000);
    const alerts = await store.alerts();
    expect(alerts.map((a) => [a.activityId, a.rule, a.since, a.shortBurn])).toEqual([
      ['a2', 'ticket', new Date(T0 + 10_000).toISOString(), 30],
      ['a3', 'page', new Date(T0).toISOString(), 40],
    ]);
    await store.replaceAlerts([], T0 + 20_000);
    expect(await store.alerts()).toEqual([]);
  });

  it('prunes applied ids and counters past their age', async () => {
    const removed = await store.prune(0, 0);
    expect(removed.applied).toBeGreaterThan(0);
    expect(removed.counts).toBeGreaterThan(0);
    expect(await store.ranking(1440, 10, T0 + 30 * MIN)).toEqual([]);
  });
});
