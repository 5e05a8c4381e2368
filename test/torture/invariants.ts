import { GIFTS, giftById } from './gifts.js';
import type { Exchange, FaultWindow, RunState } from './run-state.js';
import { short } from './trace.js';

/** An order as read at the end: its view, absent (404), or unreadable (any other answer). */
export type FinalOrder =
  | { kind: 'order'; view: { orderId: string; giftId: string; userId: string; status: string; createdAt: string; attempts: number; error?: string }; via: 'get' | 'list' }
  | { kind: 'absent' }
  | { kind: 'unreadable'; status: number };

export interface StubStats {
  byOrder: Record<string, { calls: number; deliveries: number }>;
  failuresByOrder?: Record<string, number>;
}

export interface FinalData {
  orders: Map<string, FinalOrder>;
  /** GET /api/orders/{id} answers other than 200/404 seen at the end (orderId → status). */
  getUnreadable: Map<string, number>;
  stats: { on: StubStats; off: StubStats };
  gifts: Map<string, { remaining: number; dailyRemaining: number | null } | undefined>;
  /** Redis `uncertain` field per `giftId|userId` (absent = 0). */
  uncertainCounts: Map<string, number>;
  /** UTC day the schedule started and ended in (the daily check is skipped across midnight). */
  days: [string, string];
  /** The short activity's orders in PostgreSQL (status, version), and those retention removed from Redis. */
  archive: { held: Map<string, { status: string; version: number }>; retired: string[] };
}

export interface Violation {
  invariant: string;
  /** What kind of failure this is (one per distinct defect, roughly): the report groups by it. */
  signature: string;
  message: string;
  orderIds: string[];
  /** When it happened (trace ms), for violations not tied to an order. */
  at?: number;
}

export const INVARIANTS: Record<string, string> = {
  a: 'accepted orders settle (delivered/failed; uncertain only without order numbers, after a provider call) and can be read',
  b: 'no order delivered twice; without order numbers none sent twice (bar 503s and operator re-queues)',
  c: 'delivered ⇔ the provider delivered it; failed ⇒ it did not',
  d: 'inventory conserved per gift (and per day with a dailyLimit)',
  e: 'no user holds more non-failed orders of a gift than perUserLimit',
  f: 'Redis uncertain count per (gift, user) = that user\'s uncertain orders of the gift',
  g: 'no 500 (no 5xx but 503), every 503 has Retry-After, 503 only while a fault is active (+ grace), shed at a busy gateway\'s door (≤ 1% of requests) or a split gift\'s bucket being refilled',
  h: 'one key → one orderId; a key reused for another gift/user is 422',
  op: 'concurrent operator actions: exactly one 200, the rest 409 (404 for a retry)',
  i: 'a settled order of the ended activity is in the archive with the status the API answers',
};

/** 503s within this long after a fault cleared still count as caused by it (ejection, breakers, restarts). */
export const FAULT_GRACE_MS = 12_000;
/**
 * Share of all requests a gateway's admission gate may shed with no fault active: the machine the
 * checker runs on is shared, and a load spike makes a gateway shed (by design: 503 with Retry-After,
 * never handled, repeated by clients). More than this is a gate shedding without cause.
 */
export const CALM_SHED_BUDGET = 0.01;

/**
 * Whether a request was in flight at any moment of a fault (from 0.5 s before it to `FAULT_GRACE_MS`
 * after it cleared): one sent just before Redis was killed and answered during the outage is the
 * fault's. (Seed 1 on a slow CI machine: a claim sent 0.5 s before the kill, answered 503 0.3 s into
 * it, was counted as a 503 with no fault active when only its send time was looked at.)
 */
export function inFlightDuringFault(e: Pick<Exchange, 't' | 'ms'>, faults: readonly FaultWindow[]): boolean {
  return faults.some((f) => e.t + e.ms >= f.start - 500 && e.t <= (f.end ?? Infinity) + FAULT_GRACE_MS);
}

export function checkInvariants(state: RunState, data: FinalData): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: string, signature: string, message: string, ...orderIds: string[]) => out.push({ invariant, signature, message, orderIds });
  const orders = [...data.orders.entries()].flatMap(([key, o]) => (o.kind === 'order' ? [{ key, ...o.view }] : []));

  // a. settled, readable
  for (const rec of state.keys.values()) {
    const accepted = rec.answers.some((a) => a.status === 200 || a.status === 202);
    const final = data.orders.get(rec.key);
    const unreadable = data.getUnreadable.get(rec.key);
    if (unreadable !== undefined && final?.kind !== 'absent') {
      v('a', `GET /api/orders/{id} → ${unreadable} (${shape(rec.key)} key)`, `GET /api/orders/{id} answered ${unreadable} for the valid key ${short(rec.key)} (${rec.key.length} chars)${final?.kind === 'order' ? ` (found via /api/me/orders: ${final.view.status})` : ''}`, rec.key);
    }
    if (accepted && (!final || final.kind === 'absent')) v('a', `accepted order absent (${shape(rec.key)} key)`, `accepted (${rec.answers.map((a) => a.status).join(',')}) but ${final ? 'absent (404)' : 'never read'}: ${state.describeKey(rec.key)}`, rec.key);
    if (final?.kind !== 'order') continue;
    const { status } = final.view;
    const gift = giftById(final.view.giftId);
    if (['reserved', 'queued', 'delivering'].includes(status)) v('a', `stuck ${status} (${gift.delivery} gift, ${shape(rec.key)} key)`, `stuck ${status} after quiescence (attempts ${final.view.attempts}${final.view.error ? `, error "${final.view.error}"` : ''}): ${state.describeKey(rec.key)}`, rec.key);
    if (status === 'uncertain') {
      if (gift.orderNumbers) v('a', 'uncertain with order numbers', `uncertain on the provider WITH order numbers: ${state.describeKey(rec.key)}`, rec.key);
      else if ((data.stats.off.byOrder[rec.key]?.calls ?? 0) === 0) v('a', 'uncertain without a provider call', `uncertain but the provider never got a call: ${state.describeKey(rec.key)}`, rec.key);
    }
  }

  // b, c. provider side
  for (const o of orders) {
    const gift = giftById(o.giftId);
    const stats = gift.orderNumbers ? data.stats.on : data.stats.off;
    const p = stats.byOrder[o.key] ?? { calls: 0, deliveries: 0 };
    const failures = stats.failuresByOrder?.[o.key] ?? 0;
    if (p.deliveries > 1) v('b', `delivered twice (${gift.giftId})`, `delivered ${p.deliveries} times (${p.calls} calls), Rampart says ${o.status}: ${state.describeKey(o.key)}`, o.key);
    if (!gift.orderNumbers && p.calls - failures > 1 && !state.requeued.has(o.key)) {
      v('b', `sent twice without order numbers (${gift.delivery} gift)`, `sent ${p.calls} times (${failures} answered 503) to the provider without order numbers, status ${o.status}: ${state.describeKey(o.key)}`, o.key);
    }
    if (o.status === 'delivered' && p.deliveries !== 1) v('c', `delivered but not at the provider (${gift.giftId})`, `delivered in Rampart, provider deliveries ${p.deliveries} (calls ${p.calls}): ${state.describeKey(o.key)}`, o.key);
    if (o.status === 'failed' && p.deliveries !== 0) v('c', `failed but delivered (${gift.giftId})`, `failed in Rampart (error "${o.error ?? ''}") but the provider delivered it ${p.deliveries}×: ${state.describeKey(o.key)}`, o.key);
  }

  // d. inventory
  for (const gift of GIFTS) {
    const view = data.gifts.get(gift.giftId);
    if (!view) {
      v('d', 'gift unreadable', `GET /api/gifts/${gift.giftId} unreadable at the end`);
      continue;
    }
    const held = orders.filter((o) => o.giftId === gift.giftId && o.status !== 'failed');
    const unknown = [...state.keys.values()].filter((k) => k.giftId === gift.giftId && data.orders.get(k.key)?.kind === 'unreadable').length;
    const lo = view.remaining + held.length;
    if (lo > gift.inventory || lo + unknown < gift.inventory) {
      v('d', `inventory of ${gift.giftId}`, `gift ${gift.giftId}: remaining ${view.remaining} + ${held.length} non-failed orders${unknown ? ` (+ up to ${unknown} unreadable)` : ''} ≠ inventory ${gift.inventory}`);
    }
    if (gift.dailyLimit && data.days[0] === data.days[1] && unknown === 0) {
      const today = held.filter((o) => o.createdAt.slice(0, 10) === data.days[0]).length;
      if (view.dailyRemaining !== gift.dailyLimit - today) v('d', `daily inventory of ${gift.giftId}`, `gift ${gift.giftId}: dailyRemaining ${view.dailyRemaining} ≠ dailyLimit ${gift.dailyLimit} - ${today} non-failed orders today`);
    }
  }

  // e, f. per user
  const perUser = new Map<string, { held: string[]; uncertain: number }>();
  for (const o of orders) {
    const k = `${o.giftId}|${o.userId}`;
    const entry = perUser.get(k) ?? { held: [], uncertain: 0 };
    if (o.status !== 'failed') entry.held.push(o.key);
    if (o.status === 'uncertain') entry.uncertain += 1;
    perUser.set(k, entry);
  }
  for (const [k, entry] of perUser) {
    const [giftId, userId] = k.split('|');
    if (entry.held.length > giftById(giftId).perUserLimit) {
      const held = [...entry.held].sort((a, b) => Number(state.requeued.has(b)) - Number(state.requeued.has(a)));
      const detail = held.map((k) => `${short(k)} ${data.orders.get(k)?.kind === 'order' ? (data.orders.get(k) as { view: { status: string } }).view.status : '?'}${state.requeued.has(k) ? ' (re-queued by an operator after it failed)' : ''}`);
      v('e', `over perUserLimit (${giftId})${held.some((k) => state.requeued.has(k)) ? ' after an operator re-queue' : ''}`, `user ${userId} holds ${held.length} non-failed orders of ${giftId}, perUserLimit ${giftById(giftId).perUserLimit}: ${detail.join('; ')}`, ...held);
    }
  }
  for (const [k, count] of data.uncertainCounts) {
    const expected = perUser.get(k)?.uncertain ?? 0;
    if (count !== expected) {
      const [giftId, userId] = k.split('|');
      const resolved = new Set(state.operatorGroups.filter((g) => g.action === 'resolve').map((g) => g.orderId));
      const theirs = orders.filter((o) => o.giftId === giftId && o.userId === userId).map((o) => o.key).sort((a, b) => Number(resolved.has(b)) - Number(resolved.has(a)));
      v('f', `uncertain count (${giftId})`, `Redis uncertain count of user ${userId} for ${giftId} is ${count}, they have ${expected} uncertain orders`, ...theirs);
    }
  }

  // g. answers
  const duringFault = (e: Exchange) => inFlightDuringFault(e, state.faults);
  const bad5xx = state.exchanges.filter((e) => e.status >= 500 && e.status !== 503);
  const noRetryAfter = state.exchanges.filter((e) => e.status === 503 && !e.retryAfter);
  // A split gift's empty bucket answers 503 (Retry-After) while stock is moved to it: by design, not a fault's.
  const splitClaim = (e: Exchange) => GIFTS.some((g) => g.buckets && e.path === `/api/gifts/${g.giftId}/claims`);
  const calm = state.exchanges.filter((e) => e.status === 503 && !duringFault(e) && !(e.rebalancing && splitClaim(e)));
  const calmShed = calm.filter((e) => e.shed).length;
  const calm503 = calmShed <= Math.max(5, CALM_SHED_BUDGET * state.exchanges.length) ? calm.filter((e) => !e.shed) : calm;
  const groups = new Map<string, typeof state.exchanges>();
  const add = (sig: string, e: (typeof state.exchanges)[number]) => groups.set(sig, [...(groups.get(sig) ?? []), e]);
  for (const e of bad5xx) add(`${e.status} ${e.code ?? ''} on ${route(e.path, e.method)}${e.orderId ? ` (${shape(e.orderId)} key)` : ''}`, e);
  for (const e of noRetryAfter) add(`503 without Retry-After on ${route(e.path, e.method)}`, e);
  for (const e of calm503) add(`503 with no fault active (nor in the ${FAULT_GRACE_MS / 1000} s before) on ${route(e.path, e.method)}`, e);
  for (const [sig, list] of groups) {
    const sample = list.slice(0, 4).map((e) => `${e.status} ${e.code ?? ''} ${e.method} ${e.path.length > 70 ? `${e.path.slice(0, 50)}…` : e.path} at ${(e.t / 1000).toFixed(1)}s`);
    const ids = [...new Set(list.flatMap((e) => (e.orderId ? [e.orderId] : [])))];
    out.push({ invariant: 'g', signature: sig, message: `${list.length}× ${sig}, e.g. ${sample.join('; ')}`, orderIds: ids.slice(0, 3), at: list[0].t });
  }

  // h. keys
  // When each gift was first seen sold out (a SOLD_OUT answer to a key of its own): from then on the
  // gateways' sold-out latch may refuse a claim of it before the key is looked up, as the rate limiter
  // and admission control may (nothing is created either way), so a reuse may get SOLD_OUT, not 422.
  // Or from when the claim that took its last unit was sent (the latch is armed by that claim's
  // reservation, before its answer arrives; seed 1 showed a reuse refused by the latch in between).
  const soldOutSince = new Map<string, number>();
  for (const rec of state.keys.values()) {
    for (const a of rec.answers) {
      if (a.status === 409 && a.code === 'SOLD_OUT' && a.t < (soldOutSince.get(a.giftId) ?? Infinity)) soldOutSince.set(a.giftId, a.t);
    }
  }
  for (const gift of GIFTS) {
    const accepted = new Map<string, number>();
    for (const e of state.exchanges) {
      if (e.method !== 'POST' || e.path !== `/api/gifts/${gift.giftId}/claims` || !e.orderId || (e.status !== 200 && e.status !== 202)) continue;
      if (state.keys.get(e.orderId)?.giftId !== gift.giftId) continue;
      accepted.set(e.orderId, Math.min(accepted.get(e.orderId) ?? Infinity, e.t));
    }
    const lastUnitSentAt = [...accepted.values()].sort((a, b) => a - b)[gift.inventory - 1];
    if (lastUnitSentAt !== undefined && lastUnitSentAt < (soldOutSince.get(gift.giftId) ?? Infinity)) soldOutSince.set(gift.giftId, lastUnitSentAt);
  }
  for (const rec of state.keys.values()) {
    const ids = new Set(rec.answers.filter((a) => a.status === 200 || a.status === 202).map((a) => a.orderId));
    if (ids.size > 1) v('h', 'several orderIds for a key', `key ${short(rec.key)} answered with ${ids.size} orderIds: ${[...ids].join(', ')}`, rec.key);
    for (const r of rec.reuses) {
      if (r.status === 422 && r.code === 'IDEMPOTENCY_KEY_REUSED') continue;
      if (r.status === 0 || r.status === 503 || (r.status === 429 && r.code === 'RATE_LIMITED')) continue;
      if (r.status === 409 && r.code === 'SOLD_OUT' && r.t >= (soldOutSince.get(r.giftId) ?? Infinity)) continue;
      v('h', `reuse answered ${r.status} ${r.code ?? ''}`, `key ${short(rec.key)} of ${rec.giftId}/${rec.userId} reused for ${r.giftId}/${r.userId} answered ${r.status} ${r.code ?? r.orderStatus ?? ''}, not 422`, rec.key);
    }
  }

  // i. the archive (the ended activity's orders; those retention removed are read back from it above)
  for (const o of orders.filter((o) => giftById(o.giftId).short && (o.status === 'delivered' || o.status === 'failed'))) {
    const held = data.archive.held.get(o.key);
    if (!held) v('i', `settled order not archived (${o.giftId})`, `${o.status} but not in PostgreSQL 30 s after quiescence: ${state.describeKey(o.key)}`, o.key);
    else if (held.status !== o.status) v('i', `archive says ${held.status}, the API ${o.status}`, `archived as ${held.status} (version ${held.version}), the API answers ${o.status}: ${state.describeKey(o.key)}`, o.key);
  }

  // op. concurrent operator actions (exactly one wins, unless the claim rules refuse them all)
  for (const g of state.operatorGroups) {
    const ok = g.statuses.filter((s) => s === 200).length;
    const answered = g.statuses.every((s) => s !== 0 && s < 500);
    const allowed = g.action === 'resolve' ? [200, 409] : [200, 409, 404];
    const others = g.statuses.filter((s) => s !== 200 && s !== 0 && s < 500 && !allowed.includes(s));
    const concurrent = g.statuses.length > 1;
    // A re-queue takes the order's unit back under the claim rules: all refused by them is right.
    const refusedByRules = g.action === 'retry' && g.codes.every((c) => RULE_REFUSALS.has(c));
    if (ok > 1 || others.length || (concurrent && answered && ok !== 1 && !refusedByRules && !(g.action === 'retry' && g.statuses.every((s) => s === 404)))) {
      v('op', `${g.action} ${concurrent ? '×2' : '×1'} [${g.statuses.join(',')}]`, `${concurrent ? 'concurrent ' : ''}${g.action} (${g.detail}) answered [${g.statuses.join(', ')}]`, g.orderId);
    }
  }
  return out;
}

/** Refusals of a dead-letter re-queue that leave the order failed (no unit can be taken back). */
const RULE_REFUSALS = new Set(['SOLD_OUT', 'USER_LIMIT_REACHED', 'DAILY_LIMIT_REACHED']);

/** The shape of a key: numeric, 128 chars, or other. */
export function shape(key: string): string {
  return /^\d+$/.test(key) ? 'numeric' : key.length === 128 ? '128-char' : 'uuid';
}

/** A path with its ids replaced (gift ids kept with their delivery mode). */
function route(path: string, method: string): string {
  const claim = /^\/api\/gifts\/([^/]+)\/claims$/.exec(path);
  if (claim) return `${method} claim of ${GIFTS.find((g) => g.giftId === claim[1])?.delivery ?? '?'} gift`;
  return `${method} ${path.split('?')[0].replace(/\/(orders|failed)\/[^/]+/, '/$1/:id').replace(/\/flags\/[^/]+/, '/flags/:name')}`;
}
