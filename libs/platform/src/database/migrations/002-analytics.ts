/**
 * Activity analytics (the analyzer's aggregates). One counter table: a row per minute × activity ×
 * gift × provider × metric (`claims`, `delivered`, `failed`, `uncertain`, `refused:<CODE>`, and
 * `latency:<bucket>` for the claim-latency histogram), added to by idempotent upserts, so any number of
 * analyzers merge into the same rows and p50/p99 combine across workers and minutes by summing buckets.
 * `analytics_applied` holds the report-stream ids already counted, so an entry re-read after an
 * analyzer died between its commit and its XACK is skipped in the same transaction (pruned after an
 * hour). `analytics_alerts` is the burn-rate state per activity that is currently burning.
 */
export const analytics = `
CREATE TABLE analytics_counts (
  minute      timestamptz NOT NULL,
  activity_id text NOT NULL,
  gift_id     text NOT NULL,
  provider    text NOT NULL,
  metric      text NOT NULL,
  count       bigint NOT NULL,
  PRIMARY KEY (activity_id, minute, gift_id, provider, metric)
);
CREATE INDEX analytics_counts_minute ON analytics_counts (minute);

CREATE TABLE analytics_applied (
  entry_id   text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_applied_at ON analytics_applied (applied_at);

CREATE TABLE analytics_alerts (
  activity_id text NOT NULL,
  rule        text NOT NULL,
  since       timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  objective   double precision NOT NULL,
  long_burn   double precision NOT NULL,
  short_burn  double precision NOT NULL,
  PRIMARY KEY (activity_id, rule)
);
`;
