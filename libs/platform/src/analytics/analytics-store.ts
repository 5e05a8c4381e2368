import type {
  ActivityAnalyticsRank,
  ActivityAnalyticsView,
  AnalyticsAlert,
  AnalyticsCounts,
  AnalyticsGiftProvider,
} from '@app/contracts';
import type { Database } from '../database/database.js';
import type { MinuteOutcomes } from './burn-rate.js';
import { quantileMs } from './latency-histogram.js';

/** One counter the analyzer adds to: a minute × activity × gift × provider × metric. */
export interface CounterRow {
  minuteMs: number;
  activityId: string;
  giftId: string;
  provider: string;
  /** `claims`, `delivered`, `failed`, `uncertain`, `refused:<CODE>` or `latency:<bucket>`. */
  metric: string;
  count: number;
}

export const LATENCY_METRIC = 'latency:';
export const REFUSED_METRIC = 'refused:';
const MINUTE_MS = 60_000;

/** PostgreSQL error codes after which a transaction is simply retried. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * The analyzer's aggregates in PostgreSQL (migration 002): written by the analyzers, read by query
 * for the admin API and by the analyzers for burn-rate alerts.
 */
export class AnalyticsStore {
  constructor(private readonly db: Database) {}

  /**
   * Counts a batch of report-stream entries exactly once: in one transaction, records the entry ids
   * not recorded before and adds the counters built from those only (`build` gets them). A batch
   * re-read after its analyzer died between this commit and its XACK therefore adds nothing; one
   * killed before the commit added nothing either. Rows are written in key order (two analyzers
   * adding to the same rows lock them in the same order); a deadlock is retried.
   */
  async apply(entryIds: readonly string[], build: (fresh: ReadonlySet<string>) => CounterRow[]): Promise<{ fresh: number }> {
    if (entryIds.length === 0) return { fresh: 0 };
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction(async (query) => {
          const inserted = await query<{ entry_id: string }>(
            `INSERT INTO ${this.db.table('analytics_applied')} (entry_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING entry_id`,
            [entryIds],
          );
          const fresh = new Set(inserted.map((r) => r.entry_id));
          const rows = mergeRows(build(fresh));
          if (rows.length > 0) {
            await query(
              `INSERT INTO ${this.db.table('analytics_counts')} AS c (minute, activity_id, gift_id, provider, metric, count)
               SELECT to_timestamp(m / 1000.0), a, g, p, k, n
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS t(m, a, g, p, k, n, i)
               ORDER BY i
               ON CONFLICT (activity_id, minute, gift_id, provider, metric) DO UPDATE SET count = c.count + EXCLUDED.count`,
              [rows.map((r) => r.minuteMs), rows.map((r) => r.activityId), rows.map((r) => r.giftId), rows.map((r) => r.provider), rows.map((r) => r.metric), rows.map((r) => r.count)],
            );
          }
          return { fresh: fresh.size };
        });
      } catch (err) {
        if (attempt >= 5 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
      }
    }
  }

  /** Deletes applied-entry ids older than `appliedMs` and counters older than `countsMs` (ms ago). */
  async prune(appliedMs: number, countsMs: number): Promise<{ applied: number; counts: number }> {
    const applied = await this.db.query<{ n: string }>(
      `WITH d AS (DELETE FROM ${this.db.table('analytics_applied')} WHERE applied_at < now() - make_interval(secs => $1 / 1000.0) RETURNING 1) SELECT count(*) AS n FROM d`, [appliedMs]);
    const counts = await this.db.query<{ n: string }>(
      `WITH d AS (DELETE FROM ${this.db.table('analytics_counts')} WHERE minute < now() - make_interval(secs => $1 / 1000.0) RETURNING 1) SELECT count(*) AS n FROM d`, [countsMs]);
    return { applied: Number(applied[0]?.n ?? 0), counts: Number(counts[0]?.n ?? 0) };
  }

  /** Per activity, per minute since `sinceMs`: delivered (good) and failed + uncertain (bad). */
  async outcomesSince(sinceMs: number): Promise<Map<string, MinuteOutcomes[]>> {
    const rows = await this.db.query<{ activity_id: string; minute_ms: string; good: string; bad: string }>(
      `SELECT activity_id, (extract(epoch FROM minute) * 1000)::bigint AS minute_ms,
              coalesce(sum(count) FILTER (WHERE metric = 'delivered'), 0) AS good,
              coalesce(sum(count) FILTER (WHERE metric IN ('failed', 'uncertain')), 0) AS bad
       FROM ${this.db.table('analytics_counts')}
       WHERE minute >= to_timestamp($1 / 1000.0) AND metric IN ('delivered', 'failed', 'uncertain')
       GROUP BY 1, 2`,
      [Math.floor(sinceMs / MINUTE_MS) * MINUTE_MS],
    );
    const byActivity = new Map<string, MinuteOutcomes[]>();
    for (const r of rows) {
      const list = byActivity.get(r.activity_id) ?? [];
      list.push({ minuteMs: Number(r.minute_ms), good: Number(r.good), bad: Number(r.bad) });
      byActivity.set(r.activity_id, list);
    }
    return byActivity;
  }

  /**
   * Replaces the firing alerts: upserts `firing` (keeping `since` of an alert that was already
   * firing) and deletes every other alert. Runs under a transaction-level advisory lock so that of
   * several analyzers evaluating at once, the writes do not interleave.
   */
  async replaceAlerts(firing: ReadonlyArray<Omit<AnalyticsAlert, 'since' | 'updatedAt'>>, nowMs: number): Promise<void> {
    await this.db.transaction(async (query) => {
      await query(`SELECT pg_advisory_xact_lock(hashtext('rampart.analytics_alerts'))`);
      await query(
        `DELETE FROM ${this.db.table('analytics_alerts')} WHERE (activity_id, rule) NOT IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [firing.map((a) => a.activityId), firing.map((a) => a.rule)],
      );
      for (const a of firing) {
        await query(
          `INSERT INTO ${this.db.table('analytics_alerts')} (activity_id, rule, since, updated_at, objective, long_burn, short_burn)
           VALUES ($1, $2, to_timestamp($3 / 1000.0), to_timestamp($3 / 1000.0), $4, $5, $6)
           ON CONFLICT (activity_id, rule) DO UPDATE SET updated_at = EXCLUDED.updated_at, objective = EXCLUDED.objective,
             long_burn = EXCLUDED.long_burn, short_burn = EXCLUDED.short_burn`,
          [a.activityId, a.rule, nowMs, a.objective, a.longBurn, a.shortBurn],
        );
      }
    });
  }

  /** Firing alerts, of one activity or all. */
  async alerts(activityId?: string): Promise<AnalyticsAlert[]> {
    const rows = await this.db.query<{ activity_id: string; rule: string; since: Date; updated_at: Date; objective: number; long_burn: number; short_burn: number }>(
      `SELECT * FROM ${this.db.table('analytics_alerts')} ${activityId === undefined ? '' : 'WHERE activity_id = $1'} ORDER BY activity_id, rule`,
      activityId === undefined ? [] : [activityId],
    );
    return rows.map((r) => ({
      activityId: r.activity_id,
      rule: r.rule,
      since: r.since.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      objective: r.objective,
      longBurn: r.long_burn,
      shortBurn: r.short_burn,
    }));
  }

  /** An activity's counters over the `minutes` minutes before `nowMs` (the current one included). */
  async activity(activityId: string, minutes: number, nowMs: number): Promise<ActivityAnalyticsView> {
    const fromMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - (minutes - 1) * MINUTE_MS;
    const rows = await this.db.query<{ minute_ms: string; gift_id: string; provider: string; metric: string; count: string }>(
      `SELECT (extract(epoch FROM minute) * 1000)::bigint AS minute_ms, gift_id, provider, metric, count
       FROM ${this.db.table('analytics_counts')} WHERE activity_id = $1 AND minute >= to_timestamp($2 / 1000.0)
       ORDER BY gift_id, provider, minute`,
      [activityId, fromMs],
    );
    const all = new CountsBuilder();
    const gifts = new Map<string, { giftId: string; provider: string; totals: CountsBuilder; minutes: Map<number, CountsBuilder> }>();
    for (const r of rows) {
      const key = `${r.gift_id}\u0000${r.provider}`;
      let gift = gifts.get(key);
      if (!gift) gifts.set(key, (gift = { giftId: r.gift_id, provider: r.provider, totals: new CountsBuilder(), minutes: new Map() }));
      const minuteMs = Number(r.minute_ms);
      let minute = gift.minutes.get(minuteMs);
      if (!minute) gift.minutes.set(minuteMs, (minute = new CountsBuilder()));
      const count = Number(r.count);
      for (const b of [all, gift.totals, minute]) b.add(r.metric, count);
    }
    const giftViews: AnalyticsGiftProvider[] = [...gifts.values()].map((g) => ({
      giftId: g.giftId,
      provider: g.provider,
      totals: g.totals.build(),
      series: [...g.minutes.entries()].sort(([a], [b]) => a - b).map(([minuteMs, b]) => ({ minute: new Date(minuteMs).toISOString(), ...b.build() })),
    }));
    return {
      activityId,
      minutes,
      from: new Date(fromMs).toISOString(),
      to: new Date(Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS).toISOString(),
      totals: all.build(),
      gifts: giftViews,
      alerts: await this.alerts(activityId),
    };
  }

  /** Activities with data in the last `minutes` minutes, most failing deliveries first (then most claims). */
  async ranking(minutes: number, limit: number, nowMs: number): Promise<ActivityAnalyticsRank[]> {
    const fromMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - (minutes - 1) * MINUTE_MS;
    const rows = await this.db.query<{ activity_id: string; claims: string; delivered: string; failing: string; refusals: string }>(
      `SELECT activity_id,
              coalesce(sum(count) FILTER (WHERE metric = 'claims'), 0) AS claims,
              coalesce(sum(count) FILTER (WHERE metric = 'delivered'), 0) AS delivered,
              coalesce(sum(count) FILTER (WHERE metric IN ('failed', 'uncertain')), 0) AS failing,
              coalesce(sum(count) FILTER (WHERE metric LIKE 'refused:%'), 0) AS refusals
       FROM ${this.db.table('analytics_counts')}
       WHERE minute >= to_timestamp($1 / 1000.0) AND metric NOT LIKE 'latency:%'
       GROUP BY activity_id ORDER BY failing DESC, claims DESC, activity_id LIMIT $2`,
      [fromMs, limit],
    );
    const alerts = await this.alerts();
    return rows.map((r) => {
      const delivered = Number(r.delivered);
      const failing = Number(r.failing);
      return {
        activityId: r.activity_id,
        claims: Number(r.claims),
        delivered,
        failing,
        refusals: Number(r.refusals),
        successRate: successRate(delivered, failing),
        alerts: alerts.filter((a) => a.activityId === r.activity_id).map((a) => a.rule),
      };
    });
  }
}

/** Adds rows with the same key (a batch builds one row per key; the upsert may touch a row once). */
function mergeRows(rows: readonly CounterRow[]): CounterRow[] {
  const merged = new Map<string, CounterRow>();
  for (const r of rows) {
    const key = [r.activityId, r.minuteMs, r.giftId, r.provider, r.metric].join('\u0000');
    const seen = merged.get(key);
    if (seen) seen.count += r.count;
    else merged.set(key, { ...r });
  }
  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

function successRate(delivered: number, bad: number): number | null {
  return delivered + bad === 0 ? null : Math.round((delivered / (delivered + bad)) * 10_000) / 10_000;
}

/** Folds counter rows into {@link AnalyticsCounts}. */
class CountsBuilder {
  private readonly plain: Record<'claims' | 'delivered' | 'failed' | 'uncertain', number> = { claims: 0, delivered: 0, failed: 0, uncertain: 0 };
  private readonly refusals: Record<string, number> = {};
  private readonly latency = new Map<number, number>();

  add(metric: string, count: number): void {
    if (metric.startsWith(LATENCY_METRIC)) {
      const bucket = Number(metric.slice(LATENCY_METRIC.length));
      this.latency.set(bucket, (this.latency.get(bucket) ?? 0) + count);
    } else if (metric.startsWith(REFUSED_METRIC)) {
      const code = metric.slice(REFUSED_METRIC.length);
      this.refusals[code] = (this.refusals[code] ?? 0) + count;
    } else if (metric in this.plain) {
      this.plain[metric as keyof typeof this.plain] += count;
    }
  }

  build(): AnalyticsCounts {
    const { delivered, failed, uncertain } = this.plain;
    return {
      ...this.plain,
      refusals: { ...this.refusals },
      successRate: successRate(delivered, failed + uncertain),
      p50Ms: quantileMs(this.latency, 0.5),
      p99Ms: quantileMs(this.latency, 0.99),
    };
  }
}
