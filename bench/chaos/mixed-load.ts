import { Pool } from 'undici';

/**
 * Steady mixed load for bench/chaos: `concurrency` closed-loop workers through one gateway, each
 * picking its next operation at random: a read (GET gift, activity or the user's orders) or a claim
 * of one of the claim targets with a fresh Idempotency-Key.
 *
 * A claim behaves like a real client: on a 5xx or a network error/timeout it repeats the SAME key,
 * after `Retry-After` (capped at 1 s) or 250 ms doubling, at most `claimAttempts` sends in all.
 * Reads are sent once (their raw success rate is what the table shows).
 *
 * One operation = one logical request: a read, or a claim with all its repeats. Its latency runs from
 * the first send to the final answer, and it belongs to the phase in which it started.
 */
export interface Op {
  kind: 'read' | 'claim';
  /** Index of the phase the operation started in. */
  phase: number;
  /** Start, ms since the load began. */
  atMs: number;
  latencyMs: number;
  /** Final HTTP status, or 0 for a network error / client timeout. */
  status: number;
  /** Final outcome: status and error code (`200`, `409 SOLD_OUT`, `503 SERVICE_UNAVAILABLE`, `UND_ERR_HEADERS_TIMEOUT`). */
  outcome: string;
  /** True when the answer is a correct one (see `isCorrect`). */
  correct: boolean;
  /** Sends made (claims may repeat). */
  sends: number;
}

/** A 5xx answer or a send without an answer (status 0), kept so the run can show the apps' log lines about it. */
export interface ServerError {
  phase: number;
  atMs: number;
  what: string;
  status: number;
  code?: string;
  requestId?: string;
  /** The claim's key, for claims. */
  key?: string;
}

/** One claim key sent, with what the client finally saw. */
export interface ClaimRecord {
  key: string;
  giftId: string;
  user: number;
  phase: number;
  /** Final HTTP status, 0 for a network error. */
  status: number;
  /** `status` field of a 2xx body (`delivered`, `queued`, ...). */
  orderStatus?: string;
  /** Outcome of every send, in order. */
  sends: string[];
}

export interface ClaimTarget {
  giftId: string;
  /** Relative weight among claims. */
  weight: number;
}

export interface MixedLoadOptions {
  origin: string;
  concurrency: number;
  /** Share of operations that are reads (0-1). */
  readShare: number;
  activityId: string;
  readGiftIds: string[];
  claimTargets: ClaimTarget[];
  /** `Authorization` header per user index. */
  authorizations: string[];
  /** Unique per run, prefixes every Idempotency-Key. */
  runId: string;
  claimAttempts: number;
  /** Per-send client timeout, ms. */
  sendTimeoutMs: number;
  /** Current phase index (read at the start of each operation). */
  phase: () => number;
}

/**
 * Correct answers: reads 200; claims 200/202 (with `orderId` = the key), or the contract's business
 * refusals 409 (`SOLD_OUT`, `USER_LIMIT_REACHED`, `DAILY_LIMIT_REACHED`, `NOT_ACTIVE`) and 429
 * `RATE_LIMITED` (per-user new-claim rate). Everything else (5xx after the repeats, network errors,
 * other 4xx) is not.
 */
function isCorrect(kind: Op['kind'], status: number, code: string | undefined): boolean {
  if (kind === 'read') return status === 200;
  if (status === 200 || status === 202) return true;
  if (status === 409) return true;
  return status === 429 && code === 'RATE_LIMITED';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function startMixedLoad(opts: MixedLoadOptions) {
  const pool = new Pool(opts.origin, { connections: opts.concurrency * 2, pipelining: 1 });
  const ops: Op[] = [];
  const claims: ClaimRecord[] = [];
  const serverErrors: ServerError[] = [];
  const noteServerError = (e: Omit<ServerError, 'atMs'>) => {
    if (serverErrors.length < 500) serverErrors.push({ ...e, atMs: performance.now() - startedMs });
  };
  const startedMs = performance.now();
  const totalWeight = opts.claimTargets.reduce((s, t) => s + t.weight, 0);
  let seq = 0;
  let isRunning = true;

  const send = async (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) => {
    const res = await pool.request({ method, path, headers, body, headersTimeout: opts.sendTimeoutMs, bodyTimeout: opts.sendTimeoutMs });
    const text = await res.body.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  };

  const pickTarget = (): string => {
    let r = Math.random() * totalWeight;
    for (const t of opts.claimTargets) if ((r -= t.weight) < 0) return t.giftId;
    return opts.claimTargets[opts.claimTargets.length - 1].giftId;
  };

  const read = async (user: number): Promise<Omit<Op, 'phase' | 'atMs' | 'latencyMs'>> => {
    const r = Math.random();
    const [what, path] =
      r < 0.4
        ? ['gift', `/api/gifts/${opts.readGiftIds[Math.floor(Math.random() * opts.readGiftIds.length)]}`]
        : r < 0.7
          ? ['activity', `/api/activities/${opts.activityId}`]
          : ['me/orders', '/api/me/orders?limit=20'];
    try {
      const res = await send('GET', path, { authorization: opts.authorizations[user] });
      const code: string | undefined = res.body?.error?.code;
      if (res.status >= 500) noteServerError({ phase: opts.phase(), what: `GET ${path}`, status: res.status, code, requestId: res.body?.error?.requestId });
      return { kind: 'read', status: res.status, outcome: `${what} ${res.status}${code ? ` ${code}` : ''}`, correct: isCorrect('read', res.status, code), sends: 1 };
    } catch (err) {
      noteServerError({ phase: opts.phase(), what: `GET ${path} (no answer)`, status: 0, code: errCode(err) });
      return { kind: 'read', status: 0, outcome: `${what} ${errCode(err)}`, correct: false, sends: 1 };
    }
  };

  const claim = async (user: number, phase: number): Promise<Omit<Op, 'phase' | 'atMs' | 'latencyMs'>> => {
    const key = `chaos-${opts.runId}-${++seq}`;
    const record: ClaimRecord = { key, giftId: pickTarget(), user, phase, status: 0, sends: [] };
    claims.push(record);
    const headers = { authorization: opts.authorizations[user], 'idempotency-key': key, 'content-type': 'application/json' };
    let outcome = 'none';
    let status = 0;
    let code: string | undefined;
    for (let attempt = 0; attempt < opts.claimAttempts; attempt++) {
      let waitMs = 250 * 2 ** attempt;
      try {
        const res = await send('POST', `/api/gifts/${record.giftId}/claims`, headers, '{}');
        status = res.status;
        code = res.body?.error?.code;
        outcome = code ? `${status} ${code}` : String(status);
        if (status >= 200 && status < 300) {
          record.orderStatus = res.body?.status;
          if (res.body?.orderId !== key) outcome = `${status} WRONG_ORDER_ID ${String(res.body?.orderId)}`;
        }
        if (status < 500) {
          record.sends.push(outcome);
          break;
        }
        noteServerError({ phase, what: `POST claim ${record.giftId} (send ${attempt + 1})`, status, code, requestId: res.body?.error?.requestId, key });
        const retryAfterS = Number(res.headers['retry-after']);
        if (Number.isFinite(retryAfterS) && retryAfterS > 0) waitMs = Math.min(1_000, retryAfterS * 1_000);
      } catch (err) {
        status = 0;
        code = undefined;
        outcome = errCode(err);
        noteServerError({ phase, what: `POST claim ${record.giftId} (send ${attempt + 1}, no answer)`, status: 0, code: outcome, key });
      }
      record.sends.push(outcome);
      if (attempt + 1 < opts.claimAttempts) await sleep(waitMs);
    }
    record.status = status;
    const correct = isCorrect('claim', status, code) && !outcome.includes('WRONG_ORDER_ID');
    return { kind: 'claim', status, outcome, correct, sends: record.sends.length };
  };

  const worker = async (): Promise<void> => {
    while (isRunning) {
      const phase = opts.phase();
      const atMs = performance.now() - startedMs;
      const user = Math.floor(Math.random() * opts.authorizations.length);
      const result = Math.random() < opts.readShare ? await read(user) : await claim(user, phase);
      ops.push({ ...result, phase, atMs, latencyMs: performance.now() - startedMs - atMs });
    }
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  return {
    ops,
    claims,
    serverErrors,
    /** ms since the load began (the clock of `Op.atMs`). */
    now: () => performance.now() - startedMs,
    stop: async () => {
      isRunning = false;
      await Promise.all(workers);
      await pool.close();
    },
  };
}

function errCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  return String(e?.code ?? e?.cause?.code ?? e?.name ?? 'error');
}
