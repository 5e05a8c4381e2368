import { GIFTS, giftById } from './gifts.js';
import type { Prng } from './prng.js';
import type { ClaimAnswer, KeyRecord, RunState } from './run-state.js';

/** Shares of the three key shapes (relative weights). */
export interface KeyMix {
  uuid: number;
  numeric: number;
  long: number;
}

export interface ClientOptions {
  /** Trace time (ms) after which no new claim starts. */
  endAt: number;
  /** Claims one loop starts at most. */
  maxClaims: number;
  users: string[];
  keyMix: KeyMix;
  /** Share of claims sent twice at once, through both gateways. */
  concurrentRepeatShare: number;
  /** Share of claims repeated once more after their answer. */
  laterRepeatShare: number;
  /** Share of accepted keys reused for another gift or user (must be 422). */
  reuseShare: number;
}

/** Sends per claim before the client gives up (a 503, 429 RATE_LIMITED, no answer or a timeout is repeated). */
export const CLAIM_ATTEMPTS = 4;
const CLAIM_TIMEOUT_MS = 5_000;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const HEX = '0123456789abcdef';

export function newKey(prng: Prng, mix: KeyMix): string {
  const shape = prng.weighted([['uuid', mix.uuid], ['numeric', mix.numeric], ['long', mix.long]] as const);
  if (shape === 'numeric') return `${prng.int(1, 9)}${prng.chars('0123456789', prng.int(9, 11))}`;
  if (shape === 'long') return prng.chars(KEY_ALPHABET, 128);
  return [8, 4, 4, 4, 12].map((n) => prng.chars(HEX, n)).join('-');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One client loop: claims with fresh keys, some sent twice at once through both gateways, some
 * repeated later, some keys reused for another gift/user. Every decision of an iteration is drawn
 * before anything is sent, so the loop's claims depend on the seed only, not on timing.
 */
export async function runClientLoop(state: RunState, prng: Prng, opts: ClientOptions): Promise<void> {
  for (let n = 0; n < opts.maxClaims && state.trace.now() < opts.endAt; n++) {
    const gift = prng.weighted(GIFTS.map((g) => [g, g.weight] as const));
    const userId = prng.pick(opts.users);
    const key = newKey(prng, opts.keyMix);
    const concurrent = prng.chance(opts.concurrentRepeatShare);
    const firstGateway = state.gateway(prng);
    const laterRepeat = prng.chance(opts.laterRepeatShare);
    const reuse = prng.chance(opts.reuseShare);
    const reuseOtherGift = prng.chance(0.5);
    const otherGift = prng.pick(GIFTS.filter((g) => g.giftId !== gift.giftId)).giftId;
    const otherUser = prng.pick(opts.users.filter((u) => u !== userId));
    const pauseMs = prng.int(40, 350);

    const rec: KeyRecord = { key, giftId: gift.giftId, userId, answers: [], reuses: [] };
    state.keys.set(key, rec);
    if (concurrent) await Promise.all([claim(state, rec, 0, 'repeat-a'), claim(state, rec, 1, 'repeat-b')]);
    else await claim(state, rec, firstGateway);
    if (laterRepeat) await claim(state, rec, 1 - firstGateway, 'later repeat');
    if (reuse && rec.answers.some((a) => a.status === 200 || a.status === 202)) {
      const giftId = reuseOtherGift ? otherGift : gift.giftId;
      const user = reuseOtherGift ? userId : otherUser;
      const answer = await claimOnce(state, { key, giftId, userId: user }, state.gateway(prng), 'reuse');
      rec.reuses.push(answer);
    }
    await sleep(pauseMs);
  }
}

/**
 * Comes back to keys of the short activity from `startAt` on, when retention has removed (or is
 * removing) its orders from Redis: a repeat of the claim (the same order, no provider call), or the key
 * reused by its user for a live gift or by another user for its own gift (422). So claims are answered
 * from the archive under the schedule's faults (PostgreSQL cut among them). Which key is picked depends on
 * what was accepted by then, so on timing as well as the seed.
 */
export async function runRevisits(state: RunState, prng: Prng, opts: { startAt: number; endAt: number; users: string[] }): Promise<void> {
  while (state.trace.now() < opts.startAt) await sleep(200);
  const live = GIFTS.filter((g) => !g.short);
  while (state.trace.now() < opts.endAt) {
    const accepted = [...state.keys.values()].filter((k) => giftById(k.giftId).short && k.answers.some((a) => a.status === 200 || a.status === 202));
    const pick = prng.int(0, 1_000_000);
    const repeat = prng.chance(0.6);
    const liveGift = prng.pick(live).giftId;
    const otherUser = prng.pick(opts.users);
    const byOtherUser = prng.chance(0.5);
    const gateway = state.gateway(prng);
    const pauseMs = prng.int(150, 400);
    if (accepted.length > 0) {
      const rec = accepted[pick % accepted.length];
      state.revisits += 1;
      if (repeat) await claim(state, rec, gateway, 'revisit');
      else {
        const reuse = byOtherUser && otherUser !== rec.userId ? { giftId: rec.giftId, userId: otherUser } : { giftId: liveGift, userId: rec.userId };
        rec.reuses.push(await claimOnce(state, { key: rec.key, ...reuse }, gateway, 'revisit reuse'));
      }
    }
    await sleep(pauseMs);
  }
}

/** A claim as a careful client sends it: repeated with the same key after 503/429 RATE_LIMITED/no answer, bounded. */
async function claim(state: RunState, rec: KeyRecord, gateway: number, note?: string): Promise<void> {
  let gw = gateway;
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
    const answer = await claimOnce(state, rec, gw, note ? `${note} #${attempt}` : `#${attempt}`);
    rec.answers.push(answer);
    const transient = answer.status === 0 || answer.status === 503 || (answer.status === 429 && answer.code === 'RATE_LIMITED');
    if (!transient || attempt === CLAIM_ATTEMPTS) return;
    const retryAfterS = Number(answer.retryAfter);
    await sleep(Number.isFinite(retryAfterS) && retryAfterS > 0 ? Math.min(retryAfterS * 1000, 3_000) : 250 * attempt);
    gw = (gw + 1) % state.gatewayUrls.length; // a load balancer sends the repeat elsewhere
  }
}

async function claimOnce(
  state: RunState,
  c: { key: string; giftId: string; userId: string },
  gateway: number,
  note: string,
): Promise<ClaimAnswer & { retryAfter?: string }> {
  const res = await state.send(gateway, 'POST', `/api/gifts/${c.giftId}/claims`, {
    token: state.tokens.get(c.userId),
    headers: { 'idempotency-key': c.key },
    body: {},
    timeoutMs: CLAIM_TIMEOUT_MS,
    orderId: c.key,
    note: `gift ${c.giftId} user ${c.userId} ${note}`,
  });
  return {
    t: state.trace.now(),
    gateway,
    giftId: c.giftId,
    userId: c.userId,
    status: res.status,
    orderId: res.body?.orderId,
    orderStatus: res.body?.status,
    code: res.body?.error?.code,
    retryAfter: res.retryAfter,
  };
}
