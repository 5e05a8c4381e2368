import type { MessageMeta } from '../messages/message-meta.js';

/** Counts of one gift × provider (or one minute of it) over the asked period. */
export interface AnalyticsCounts {
  /** Claims answered (a client's retry of the same order number counts again). */
  claims: number;
  /** Orders that settled delivered / failed / uncertain (first settlement; a later resolution of an uncertain one is not counted again). */
  delivered: number;
  failed: number;
  uncertain: number;
  /** Claims refused, by error code (SOLD_OUT, USER_LIMIT_REACHED, ...). */
  refusals: Record<string, number>;
  /** delivered ÷ (delivered + failed + uncertain); null when nothing settled. */
  successRate: number | null;
  /** Claim latency quantiles in ms (from a mergeable histogram, ±9%); null when no claim. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface AnalyticsMinute extends AnalyticsCounts {
  /** Start of the minute (ISO-8601). */
  minute: string;
}

export interface AnalyticsGiftProvider {
  giftId: string;
  /** The provider's origin (scheme, host and port of its URL) as published when the event was counted. */
  provider: string;
  totals: AnalyticsCounts;
  /** One entry per minute that has data, oldest first. */
  series: AnalyticsMinute[];
}

/** A burn-rate alert that is firing for an activity. */
export interface AnalyticsAlert {
  activityId: string;
  /** `page` (14.4x) or `ticket` (6x). */
  rule: string;
  /** When it started firing (ISO-8601). */
  since: string;
  /** When the analyzer last confirmed it (ISO-8601). */
  updatedAt: string;
  objective: number;
  longBurn: number;
  shortBurn: number;
}

/** `GET /admin/analytics/activities/{activityId}?minutes=N`. */
export interface ActivityAnalyticsView {
  activityId: string;
  minutes: number;
  /** Period covered: [from, to). */
  from: string;
  to: string;
  totals: AnalyticsCounts;
  gifts: AnalyticsGiftProvider[];
  alerts: AnalyticsAlert[];
}

/** One activity of `GET /admin/analytics/activities?minutes=N`, ranked by failing claims. */
export interface ActivityAnalyticsRank {
  activityId: string;
  claims: number;
  delivered: number;
  /** failed + uncertain. */
  failing: number;
  refusals: number;
  successRate: number | null;
  alerts: string[];
}

export interface ActivityAnalyticsRanking {
  minutes: number;
  activities: ActivityAnalyticsRank[];
}

/** Most minutes one analytics read covers (one day). */
export const ANALYTICS_MAX_MINUTES = 1440;

export interface ActivityAnalyticsRequest {
  activityId: string;
  minutes: number;
  meta: MessageMeta;
}

export interface AnalyticsRankingRequest {
  minutes: number;
  /** Most activities answered. */
  limit: number;
  meta: MessageMeta;
}
