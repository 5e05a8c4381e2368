import { Pool } from 'undici';
import type { ClaimRecord } from './mixed-load.js';

/** Rampart's view of one claim key after the run: the order's status, or `absent` (404). */
export interface OrderState {
  status: string;
  attempts?: number;
  error?: unknown;
  updatedAt?: string;
}

/**
 * Reads `GET /api/orders/{key}` (as the claiming user) for every claim, `concurrency` at a time.
 * Answers a map key -> state; a key whose read failed (5xx, network) is left out.
 */
export async function readOrders(origin: string, authorizations: string[], claims: ClaimRecord[], concurrency: number): Promise<Map<string, OrderState>> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const states = new Map<string, OrderState>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < claims.length) {
      const claim = claims[next++];
      try {
        const res = await pool.request({
          method: 'GET',
          path: `/api/orders/${claim.key}`,
          headers: { authorization: authorizations[claim.user] },
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          const body = JSON.parse(text);
          states.set(claim.key, { status: body.status, attempts: body.attempts, error: body.error, updatedAt: body.updatedAt });
        } else if (res.statusCode === 404) {
          states.set(claim.key, { status: 'absent' });
        }
      } catch {
        // Left out: read again on the next pass.
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return states;
}

/**
 * Polls the acknowledged claims (2xx) until every one is `delivered` or `waitMs` passed, every
 * `intervalMs`. Answers the last state seen of every acknowledged key and how long it took.
 */
export async function waitForDelivered(
  origin: string,
  authorizations: string[],
  acknowledged: ClaimRecord[],
  opts: { waitMs: number; intervalMs: number; concurrency: number; progress: (msg: string) => void },
): Promise<{ states: Map<string, OrderState>; waitedMs: number }> {
  const startedMs = Date.now();
  const states = new Map<string, OrderState>();
  let pending = acknowledged;
  for (;;) {
    const seen = await readOrders(origin, authorizations, pending, opts.concurrency);
    for (const [key, state] of seen) states.set(key, state);
    pending = pending.filter((c) => states.get(c.key)?.status !== 'delivered');
    const waitedMs = Date.now() - startedMs;
    if (pending.length === 0 || waitedMs >= opts.waitMs) return { states, waitedMs };
    const byStatus: Record<string, number> = {};
    for (const c of pending) {
      const s = states.get(c.key)?.status ?? 'unread';
      byStatus[s] = (byStatus[s] ?? 0) + 1;
    }
    opts.progress(`${pending.length} acknowledged orders not delivered yet (${Object.entries(byStatus).map(([s, n]) => `${s} ${n}`).join(', ')}), ${(waitedMs / 1000).toFixed(0)} s waited`);
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
