import type { Prng } from './prng.js';
import { short, Trace } from './trace.js';

/** One HTTP exchange the checker made (every one, for invariant g and the counts). */
export interface Exchange {
  t: number;
  method: string;
  path: string;
  /** 0 when no answer came (network error or client timeout). */
  status: number;
  code?: string;
  retryAfter?: string;
  error?: string;
  ms: number;
  orderId?: string;
  /** A 503 of a gateway's admission gate: the request was shed at the door, never handled. */
  shed?: boolean;
  /** A 503 of a split gift's claim whose bucket was empty while stock was being moved to it. */
  rebalancing?: boolean;
}

/** One answer to a claim (or its repeat) for one key. */
export interface ClaimAnswer {
  t: number;
  gateway: number;
  giftId: string;
  userId: string;
  status: number;
  orderId?: string;
  orderStatus?: string;
  code?: string;
}

/** Everything the checker knows about one Idempotency-Key. */
export interface KeyRecord {
  key: string;
  giftId: string;
  userId: string;
  answers: ClaimAnswer[];
  /** Reuses of the key for another gift or user, with their answers. */
  reuses: ClaimAnswer[];
}

/** A group of concurrent operator actions on one order (exactly one may succeed). */
export interface OperatorGroup {
  t: number;
  action: 'retry' | 'resolve';
  orderId: string;
  statuses: number[];
  /** Error codes of the answers ('' for a success or no body). */
  codes: string[];
  detail: string;
}

/** A fault while it was active (end undefined while it still is). */
export interface FaultWindow {
  kind: string;
  target: string;
  start: number;
  end?: number;
}

/** The shared state of one run. */
export class RunState {
  readonly trace = new Trace();
  readonly exchanges: Exchange[] = [];
  readonly keys = new Map<string, KeyRecord>();
  readonly operatorGroups: OperatorGroup[] = [];
  readonly faults: FaultWindow[] = [];
  /** Orders an operator re-queued from the dead-letter set (a re-send there is allowed). */
  readonly requeued = new Set<string>();
  /** Latest order status read through the API. */
  readonly lastStatus = new Map<string, string>();
  readonly tokens = new Map<string, string>();
  flagFlips = 0;
  /** Claims sent again (repeats and reuses) with keys of the short activity, once it had ended. */
  revisits = 0;
  /** Keys whose read answered a 4xx other than 404 (not polled again; read from the owner's list at the end). */
  readonly unreadable = new Set<string>();
  private readonly lastQuiet = new Map<string, string>();
  /** UTC day the schedule started in. */
  readonly startDay = new Date().toISOString().slice(0, 10);

  constructor(
    readonly seed: number,
    readonly gatewayUrls: string[],
    readonly adminToken: string,
  ) {}

  activeFaults(): FaultWindow[] {
    return this.faults.filter((f) => f.end === undefined);
  }

  /**
   * Sends one request, recording it and its answer; never throws (no answer = status 0).
   * `orderId` ties it to an order in the trace; `quiet` traces only an answer other than 200/404.
   */
  async send(
    gateway: number,
    method: string,
    path: string,
    opts: { token?: string; headers?: Record<string, string>; body?: unknown; timeoutMs: number; orderId?: string; note?: string; quiet?: boolean },
  ): Promise<{ status: number; body: any; retryAfter?: string; error?: string }> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const t = this.trace.now();
    const started = Date.now();
    const label = `gw${gateway + 1} ${method} ${path.length > 90 ? `${path.slice(0, 60)}…(${path.length})` : path}${opts.note ? ` ${opts.note}` : ''}`;
    if (opts.orderId && !opts.quiet) this.trace.add('claim', `→ ${label}`, opts.orderId);
    try {
      const res = await fetch(`${this.gatewayUrls[gateway]}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.text();
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const retryAfter = res.headers.get('retry-after') ?? undefined;
      const code = body?.error?.code;
      const shed = res.status === 503 && /shed at the door/.test(String(body?.error?.message ?? ''));
      const rebalancing = res.status === 503 && /being moved to your share/.test(String(body?.error?.message ?? ''));
      this.exchanges.push({ t, method, path, status: res.status, code, retryAfter, ms: Date.now() - started, orderId: opts.orderId, ...(shed ? { shed } : {}), ...(rebalancing ? { rebalancing } : {}) });
      const quietSame = opts.quiet && this.lastQuiet.get(opts.orderId ?? '') === `${res.status} ${code}`;
      if (opts.quiet && opts.orderId) this.lastQuiet.set(opts.orderId, `${res.status} ${code}`);
      if (opts.orderId && (!opts.quiet || (res.status !== 200 && res.status !== 404 && !quietSame))) {
        const what = code ? `${code}${res.status >= 500 ? ` "${String(body?.error?.message ?? '').slice(0, 160)}" requestId ${body?.error?.requestId}` : ''}` : body?.status ?? text.slice(0, 80);
        this.trace.add('answer', `← ${res.status} ${what}${retryAfter ? ` Retry-After ${retryAfter}` : ''} (${label}, ${Date.now() - started} ms)`, opts.orderId);
      }
      return { status: res.status, body, retryAfter };
    } catch (err) {
      const error = (err as Error).name === 'TimeoutError' ? 'client timeout' : String((err as Error).cause ?? (err as Error).message);
      this.exchanges.push({ t, method, path, status: 0, error, ms: Date.now() - started, orderId: opts.orderId });
      if (opts.orderId) this.trace.add('answer', `← no answer: ${error.slice(0, 120)} (${label}, ${Date.now() - started} ms)`, opts.orderId);
      return { status: 0, body: undefined, error };
    }
  }

  /** A random gateway index. */
  gateway(prng: Prng): number {
    return prng.int(0, this.gatewayUrls.length - 1);
  }

  describeKey(key: string): string {
    const k = this.keys.get(key);
    return k ? `${short(key)} (gift ${k.giftId}, user ${k.userId})` : short(key);
  }
}
