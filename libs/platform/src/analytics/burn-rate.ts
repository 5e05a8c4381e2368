/**
 * Multi-window, multi-burn-rate alerting per activity (Google SRE workbook, "Alerting on SLOs"):
 * a rule fires when the error budget burns at least `factor` times too fast over both its long
 * window (enough budget is gone to matter) and its short window (it is still happening, so the
 * alert resets soon after the fault ends).
 *
 * The workbook's windows are fractions of a 30-day budget period (1 h = 1/720 of it, so 14.4x over
 * 1 h is 2% of the budget gone). Campaigns run for hours or days and think in days (daily limits), so
 * Rampart's default budget period is one day and the windows scale with it ({@link burnWindows}):
 * page 14.4x over 2 min and 1 min, ticket 6x over 12 min and 1 min. A 30-day period gives the
 * workbook's 1 h/5 min and 6 h/30 min. Windows are one minute at least (the aggregates' grain).
 */
export interface BurnRule {
  /** `page` (fast burn) or `ticket` (slower burn). */
  name: string;
  factor: number;
  longMs: number;
  shortMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** The workbook's budget period. */
export const WORKBOOK_PERIOD_MS = 30 * 24 * HOUR_MS;

/** The workbook's two paging rules, for a 30-day period. */
export const WORKBOOK_RULES: readonly BurnRule[] = [
  { name: 'page', factor: 14.4, longMs: HOUR_MS, shortMs: 5 * MINUTE_MS },
  { name: 'ticket', factor: 6, longMs: 6 * HOUR_MS, shortMs: 30 * MINUTE_MS },
];

/**
 * The rules with windows scaled from the workbook's 30 days to `periodMs` (one minute at least,
 * the workbook's at most).
 */
export function burnWindows(periodMs: number, rules: readonly BurnRule[] = WORKBOOK_RULES): BurnRule[] {
  const scale = Math.min(1, Math.max(0, periodMs) / WORKBOOK_PERIOD_MS);
  const scaled = (ms: number) => Math.max(MINUTE_MS, Math.round(ms * scale));
  return rules.map((r) => ({ ...r, longMs: scaled(r.longMs), shortMs: scaled(r.shortMs) }));
}

/** Settled deliveries of one minute: `good` delivered, `bad` failed or uncertain. */
export interface MinuteOutcomes {
  minuteMs: number;
  good: number;
  bad: number;
}

export interface BurnVerdict {
  rule: string;
  factor: number;
  longMs: number;
  shortMs: number;
  /** Error ratio ÷ error budget over each window (0 when the window holds nothing); over the short window rules compare its 90% lower bound. */
  longBurn: number;
  shortBurn: number;
  /** Settled deliveries in the short window. */
  shortVolume: number;
  firing: boolean;
}

export interface BurnOptions {
  /** Success objective, e.g. 0.995: the error budget is 1 − objective. */
  objective: number;
  /** Fewest settled deliveries in the short window for a rule to fire (one failure of three is noise). */
  minVolume: number;
}

/**
 * Evaluates each rule over an activity's per-minute outcomes at `nowMs`. A window of W covers
 * [nowMs − W, nowMs]: the current (partial) minute counts whole, the oldest minute only for the
 * share of it inside the window (its outcomes taken as spread evenly over it).
 */
export function evaluateBurn(minutes: readonly MinuteOutcomes[], nowMs: number, rules: readonly BurnRule[], opts: BurnOptions): BurnVerdict[] {
  const budget = Math.max(1e-9, 1 - opts.objective);
  const sum = (windowMs: number) => {
    const from = nowMs - windowMs;
    let good = 0;
    let bad = 0;
    for (const m of minutes) {
      if (m.minuteMs > nowMs || m.minuteMs + MINUTE_MS <= from) continue;
      const share = m.minuteMs >= from ? 1 : (m.minuteMs + MINUTE_MS - from) / MINUTE_MS;
      good += m.good * share;
      bad += m.bad * share;
    }
    const volume = good + bad;
    return { volume, burn: volume === 0 ? 0 : bad / volume / budget, lowBurn: wilsonLower(bad, volume) / budget };
  };
  return rules.map((rule) => {
    const long = sum(rule.longMs);
    const short = sum(rule.shortMs);
    return {
      rule: rule.name,
      factor: rule.factor,
      longMs: rule.longMs,
      shortMs: rule.shortMs,
      longBurn: round(long.burn),
      shortBurn: round(short.burn),
      shortVolume: Math.round(short.volume),
      firing: short.volume >= opts.minVolume && long.burn >= rule.factor && short.lowBurn >= rule.factor,
    };
  });
}

/** One-sided 90% confidence (z = 1.28): the error ratio is at least this, given `bad` of `n`. */
const Z = 1.28;

/**
 * The Wilson score interval's lower bound of a ratio: 2 failures of 60 (3.3%) bound at 1.4%, 200 of
 * 2,000 (10%) at 9.2%. Rules compare it, not the raw ratio, so a new activity's first few dozen
 * deliveries do not page on one unlucky failure, while a real fault at volume still does at once.
 * Only the short window needs it: a long window with few deliveries is a short one that fires only
 * together with its short window.
 */
export function wilsonLower(bad: number, n: number): number {
  if (n <= 0) return 0;
  const p = bad / n;
  const z2 = Z * Z;
  const centre = p + z2 / (2 * n);
  const margin = Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - margin) / (1 + z2 / n));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
