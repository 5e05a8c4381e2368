import { type CounterRow, LATENCY_METRIC, latencyBucket, REFUSED_METRIC } from '@app/platform';
import { type GiftPlace, UNKNOWN_PLACE } from './gift-directory.js';

/** One entry of the report stream, as the delivery's reporter writes it. */
export interface ReportEntry {
  /** The stream entry id: the key of exactly-once counting. */
  id: string;
  kind: 'claim' | 'outcome';
  giftId: string;
  status: string;
  /** When it happened, in ms since the epoch. */
  at: number;
  /** A claim's latency, in ms. */
  latencyMs?: number;
  /** A claim's own settlement of its order (delivered, failed or uncertain), counted as an outcome. */
  settled?: string;
  /** Claims this entry stands for (a gateway reports its sold-out latch's refusals per gift per second). Default 1. */
  count: number;
}

const MINUTE_MS = 60_000;
/** Claim statuses that are an order (not a refusal). */
const ORDER_STATUSES = new Set(['queued', 'delivering', 'delivered', 'failed', 'uncertain']);
const OUTCOMES = new Set(['delivered', 'failed', 'uncertain']);

/** Parses a stream entry's field list; undefined for an entry this analyzer does not count (deleted, or of another format). */
export function parseReport(id: string, fields: readonly string[] | null): ReportEntry | undefined {
  if (!fields) return undefined;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  // Entries written before outcomes were reported have no kind: they were claims.
  const kind = f.kind ?? 'claim';
  const at = Number(f.at);
  if ((kind !== 'claim' && kind !== 'outcome') || !f.giftId || !f.status || !Number.isFinite(at)) return undefined;
  if (kind === 'outcome' && !OUTCOMES.has(f.status)) return undefined;
  const latencyMs = f.latencyMs === undefined ? undefined : Number(f.latencyMs);
  const count = f.count === undefined ? 1 : Number(f.count);
  if (!Number.isInteger(count) || count < 1) return undefined;
  const settled = kind === 'claim' && f.settled && OUTCOMES.has(f.settled) ? f.settled : undefined;
  return { id, kind, giftId: f.giftId, status: f.status, at, latencyMs, count, ...(settled ? { settled } : {}) };
}

/**
 * The counters of a batch of entries: per claim, `claims` and its latency bucket, plus
 * `refused:<CODE>` when it was refused and its own settlement when it made one; per outcome,
 * `delivered`, `failed` or `uncertain`. Each in
 * the minute of its `at`, under the gift's activity and provider.
 */
export function countersOf(entries: readonly ReportEntry[], places: ReadonlyMap<string, GiftPlace>): CounterRow[] {
  const rows: CounterRow[] = [];
  for (const e of entries) {
    const { activityId, provider } = places.get(e.giftId) ?? UNKNOWN_PLACE;
    const base = { minuteMs: Math.floor(e.at / MINUTE_MS) * MINUTE_MS, activityId, giftId: e.giftId, provider, count: e.count };
    if (e.kind === 'outcome') {
      rows.push({ ...base, metric: e.status });
      continue;
    }
    rows.push({ ...base, metric: 'claims' });
    if (e.latencyMs !== undefined && Number.isFinite(e.latencyMs)) rows.push({ ...base, metric: `${LATENCY_METRIC}${latencyBucket(e.latencyMs)}` });
    if (!ORDER_STATUSES.has(e.status)) rows.push({ ...base, metric: `${REFUSED_METRIC}${e.status}` });
    if (e.settled) rows.push({ ...base, metric: e.settled });
  }
  return rows;
}
