/**
 * The system of record's first tables. Orders are written only by the archiver (idempotent upserts
 * keyed by order id, newer version wins); audit entries by their Redis stream id; activity versions
 * by (activity, published time).
 */
export const initial = `
CREATE TABLE orders (
  order_id      text PRIMARY KEY,
  user_id       text NOT NULL,
  gift_id       text NOT NULL,
  activity_id   text NOT NULL,
  status        text NOT NULL,
  attempts      integer NOT NULL,
  version       integer NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  error         text,
  failure       text,
  provider_ref  text,
  resolved_by   text,
  history       jsonb NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT now(),
  archive_count integer NOT NULL DEFAULT 1
);
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);
CREATE INDEX orders_gift_created ON orders (gift_id, created_at DESC);
CREATE INDEX orders_activity ON orders (activity_id);

CREATE TABLE activity_versions (
  activity_id  text NOT NULL,
  published_at timestamptz NOT NULL,
  actor        text NOT NULL,
  reason       text NOT NULL,
  config       jsonb NOT NULL,
  PRIMARY KEY (activity_id, published_at)
);

CREATE TABLE audit_log (
  id      text PRIMARY KEY,
  at      timestamptz NOT NULL,
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text NOT NULL,
  reason  text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
`;
