import { latencyBucket } from '@app/platform';
import { providerOrigin } from './gift-directory.js';
import { countersOf, parseReport } from './report-counters.js';

const place = { activityId: 'a1', provider: 'http://p:1' };
const at = Date.UTC(2026, 10, 30, 10, 0, 42);
const minuteMs = Date.UTC(2026, 10, 30, 10, 0, 0);

describe('report counters', () => {
  it('parses claim and outcome entries as the reporters write them, and skips what it does not count', () => {
    expect(parseReport('1-0', ['kind', 'claim', 'orderId', 'o1', 'giftId', 'g1', 'status', 'delivered', 'at', String(at), 'latencyMs', '12'])).toEqual({ id: '1-0', kind: 'claim', giftId: 'g1', status: 'delivered', at, latencyMs: 12, count: 1 });
    expect(parseReport('1-1', ['kind', 'outcome', 'orderId', 'o1', 'giftId', 'g1', 'status', 'failed', 'at', String(at)])).toMatchObject({ kind: 'outcome', status: 'failed', count: 1 });
    // Written before outcomes were reported: a claim.
    expect(parseReport('1-2', ['orderId', 'o1', 'giftId', 'g1', 'status', 'queued', 'latencyMs', '3', 'at', String(at)])).toMatchObject({ kind: 'claim' });
    expect(parseReport('1-3', null)).toBeUndefined(); // deleted while pending
    expect(parseReport('1-4', ['kind', 'outcome', 'giftId', 'g1', 'status', 'queued', 'at', String(at)])).toBeUndefined(); // not an outcome
    expect(parseReport('1-5', ['kind', 'other', 'giftId', 'g1', 'status', 'x', 'at', String(at)])).toBeUndefined();
    expect(parseReport('1-6', ['kind', 'claim', 'giftId', 'g1', 'status', 'SOLD_OUT', 'at', 'soon'])).toBeUndefined();
    expect(parseReport('1-7', ['kind', 'claim', 'giftId', 'g1', 'status', 'SOLD_OUT', 'at', String(at), 'count', '0'])).toBeUndefined();
  });

  it('counts a claim, its latency bucket and its refusal code; an outcome; a gateway entry standing for many claims', () => {
    const entries = [
      parseReport('1-0', ['kind', 'claim', 'giftId', 'g1', 'status', 'delivered', 'at', String(at), 'latencyMs', '12'])!,
      parseReport('1-1', ['kind', 'claim', 'giftId', 'g1', 'status', 'USER_LIMIT_REACHED', 'at', String(at), 'latencyMs', '2'])!,
      parseReport('1-2', ['kind', 'outcome', 'giftId', 'g1', 'status', 'uncertain', 'at', String(at)])!,
      parseReport('1-3', ['kind', 'claim', 'giftId', 'g2', 'status', 'SOLD_OUT', 'at', String(at), 'latencyMs', '0', 'count', '250'])!,
    ];
    const rows = countersOf(entries, new Map([['g1', place]]));
    const of = (giftId: string) => rows.filter((r) => r.giftId === giftId).map((r) => [r.metric, r.count, r.activityId, r.minuteMs === minuteMs]);
    expect(of('g1')).toEqual([
      ['claims', 1, 'a1', true],
      [`latency:${latencyBucket(12)}`, 1, 'a1', true],
      ['claims', 1, 'a1', true],
      [`latency:${latencyBucket(2)}`, 1, 'a1', true],
      ['refused:USER_LIMIT_REACHED', 1, 'a1', true],
      ['uncertain', 1, 'a1', true],
    ]);
    // A gift the directory does not know counts under `unknown`, not lost.
    expect(of('g2')).toEqual([
      ['claims', 250, 'unknown', true],
      ['latency:0', 250, 'unknown', true],
      ['refused:SOLD_OUT', 250, 'unknown', true],
    ]);
  });

  it('counts the settlement a claim\'s own attempt made (one entry for a sync claim), never a bogus one', () => {
    const own = parseReport('2-0', ['kind', 'claim', 'giftId', 'g1', 'status', 'failed', 'at', String(at), 'latencyMs', '5', 'settled', 'failed'])!;
    expect(countersOf([own], new Map([['g1', place]])).map((r) => r.metric)).toEqual(['claims', `latency:${latencyBucket(5)}`, 'failed']);
    // A repeat answered `delivered` carries no settlement: the first claim counted it.
    const repeat = parseReport('2-1', ['kind', 'claim', 'giftId', 'g1', 'status', 'delivered', 'at', String(at), 'latencyMs', '1'])!;
    expect(countersOf([repeat], new Map([['g1', place]])).map((r) => r.metric)).toEqual(['claims', `latency:${latencyBucket(1)}`]);
    expect(parseReport('2-2', ['kind', 'claim', 'giftId', 'g1', 'status', 'queued', 'at', String(at), 'settled', 'queued'])!.settled).toBeUndefined();
  });

  it('keeps only the origin of a provider URL (a path or query may hold a secret)', () => {
    expect(providerOrigin('https://p.example:8443/deliver?key=s3cret')).toBe('https://p.example:8443');
    expect(providerOrigin('http://127.0.0.1:7001')).toBe('http://127.0.0.1:7001');
    expect(providerOrigin(null)).toBe('unknown');
    expect(providerOrigin('not a url')).toBe('unknown');
  });
});
