import { giftById } from './gifts.js';
import type { Prng } from './prng.js';
import type { KeyRecord, RunState } from './run-state.js';

export const OPEN_STATUSES = ['reserved', 'queued', 'delivering'];
const READ_TIMEOUT_MS = 3_000;
const ADMIN_TIMEOUT_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a key may have created an order: an accepted answer, or no definite refusal. */
export function mayHaveOrder(rec: KeyRecord): boolean {
  return rec.answers.some((a) => a.status === 200 || a.status === 202 || a.status === 0 || a.status >= 500);
}

/** Reads one order as its owner; records status changes in the trace. */
export async function readOrder(state: RunState, rec: KeyRecord, gateway: number): Promise<{ status: number; body: any }> {
  const res = await state.send(gateway, 'GET', `/api/orders/${rec.key}`, { token: state.tokens.get(rec.userId), timeoutMs: READ_TIMEOUT_MS, orderId: rec.key, quiet: true, note: 'read' });
  if (res.status === 200 && typeof res.body?.status === 'string') {
    state.lastStatus.set(rec.key, res.body.status);
    state.trace.status(rec.key, res.body.status, `attempts ${res.body.attempts}${res.body.error ? ` error "${String(res.body.error).slice(0, 120)}"` : ''}`);
  } else if (res.status === 404) {
    state.trace.status(rec.key, 'absent (404)');
  } else if (res.status !== 0 && res.status !== 503) {
    if (res.status < 500) state.unreadable.add(rec.key);
    state.trace.status(rec.key, `unreadable (${res.status} ${res.body?.error?.code ?? ''})`);
  }
  return res;
}

/**
 * Polls the orders that may still change (not delivered/failed), `perPass` at a time, until
 * `stopped()`. Uncertain orders are read too: only an operator changes them.
 */
export async function runPoller(state: RunState, prng: Prng, stopped: () => boolean, perPass = 30): Promise<void> {
  let cursor = 0;
  while (!stopped()) {
    const open = [...state.keys.values()].filter((k) => mayHaveOrder(k) && !state.unreadable.has(k.key) && !['delivered', 'failed'].includes(state.lastStatus.get(k.key) ?? ''));
    const batch = open.length <= perPass ? open : Array.from({ length: perPass }, (_, i) => open[(cursor + i) % open.length]);
    cursor += perPass;
    for (let i = 0; i < batch.length && !stopped(); i += 4) {
      await Promise.all(batch.slice(i, i + 4).map((rec) => readOrder(state, rec, state.gateway(prng))));
    }
    await sleep(800);
  }
}

/** Dead letters: list, pick one, re-queue it (sometimes twice at once through both gateways). */
export async function retryDeadLetter(state: RunState, prng: Prng, concurrent: boolean): Promise<void> {
  const pickIndex = prng.next();
  const list = await state.send(state.gateway(prng), 'GET', '/admin/queues/failed?limit=200', { token: state.adminToken, timeoutMs: ADMIN_TIMEOUT_MS });
  const failed: Array<{ orderId: string; reason: string }> = list.body?.failed ?? [];
  if (list.status !== 200 || !failed.length) {
    state.trace.add('operator', `dead letters: ${list.status === 200 ? 'none' : `list answered ${list.status || list.error}`}`);
    return;
  }
  const target = failed[Math.floor(pickIndex * failed.length)];
  state.trace.add('operator', `re-queue dead letter (${target.reason}) ×${concurrent ? 2 : 1}`, target.orderId);
  const sends = (concurrent ? [0, 1] : [state.gateway(prng)]).map((gw, i) =>
    state.send(gw, 'POST', `/admin/queues/failed/${target.orderId}/retry`, {
      token: state.adminToken,
      headers: { 'x-actor': `torture-op-${i + 1}` },
      timeoutMs: ADMIN_TIMEOUT_MS,
      orderId: target.orderId,
      note: 'operator retry',
    }),
  );
  const answers = await Promise.all(sends);
  if (answers.some((a) => a.status === 200)) state.requeued.add(target.orderId);
  state.operatorGroups.push({ t: state.trace.now(), action: 'retry', orderId: target.orderId, statuses: answers.map((a) => a.status), codes: answers.map(codeOf), detail: target.reason });
}

/**
 * Resolves one uncertain order truthfully: `delivered` is what the provider stub says it did
 * (its `_stats` byOrder). Sometimes two operators at once, with different reasons.
 */
export async function resolveUncertain(state: RunState, prng: Prng, concurrent: boolean, providers: { on: string; off: string }): Promise<void> {
  const pickIndex = prng.next();
  const candidates = [...state.keys.values()].filter((k) => state.lastStatus.get(k.key) === 'uncertain');
  if (!candidates.length) {
    state.trace.add('operator', 'resolve: no uncertain order seen');
    return;
  }
  const rec = candidates[Math.floor(pickIndex * candidates.length)];
  const providerUrl = giftById(rec.giftId).orderNumbers ? providers.on : providers.off;
  let delivered: boolean;
  try {
    const stats = (await (await fetch(`${providerUrl}/_stats`, { signal: AbortSignal.timeout(3_000) })).json()) as { byOrder: Record<string, { deliveries: number }> };
    delivered = (stats.byOrder[rec.key]?.deliveries ?? 0) > 0;
  } catch (err) {
    state.trace.add('operator', `resolve: provider stats unreadable (${String(err)})`, rec.key);
    return;
  }
  state.trace.add('operator', `resolve delivered=${delivered} (provider says so) ×${concurrent ? 2 : 1}`, rec.key);
  const sends = (concurrent ? [0, 1] : [state.gateway(prng)]).map((gw, i) =>
    state.send(gw, 'POST', `/admin/orders/${rec.key}/resolve`, {
      token: state.adminToken,
      headers: { 'x-actor': `torture-op-${i + 1}` },
      body: { delivered, reason: `torture operator ${i + 1}: provider ${delivered ? 'has' : 'has not'} delivered` },
      timeoutMs: ADMIN_TIMEOUT_MS,
      orderId: rec.key,
      note: `operator resolve delivered=${delivered}`,
    }),
  );
  const answers = await Promise.all(sends);
  state.operatorGroups.push({ t: state.trace.now(), action: 'resolve', orderId: rec.key, statuses: answers.map((a) => a.status), codes: answers.map(codeOf), detail: `delivered=${delivered}` });
  if (answers.some((a) => a.status === 200)) state.lastStatus.set(rec.key, delivered ? 'delivered' : 'failed');
}

/** Sets a flag through a random gateway (the other one if that one does not answer). */
export async function setFlag(state: RunState, prng: Prng, name: string, enabled: boolean): Promise<void> {
  const first = state.gateway(prng);
  for (const gw of [first, 1 - first]) {
    const res = await state.send(gw, 'PUT', `/admin/flags/${name}`, { token: state.adminToken, body: { enabled, reason: 'torture flag flip' }, timeoutMs: ADMIN_TIMEOUT_MS });
    state.trace.add('flag', `${name}=${enabled} via gw${gw + 1}: ${res.status || res.error}`);
    if (res.status === 200) {
      state.flagFlips += 1;
      return;
    }
    await sleep(300);
  }
}

/** The error code of an answer, '' when it has none. */
const codeOf = (answer: { body: any }): string => String(answer.body?.error?.code ?? '');
