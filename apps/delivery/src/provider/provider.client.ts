import { Agent, errors, request } from 'undici';

/** What a provider call tells about the delivery (contract section 5). */
export type ProviderOutcome =
  /** 2xx: delivered. */
  | { kind: 'delivered'; providerRef?: string }
  /** 4xx: a permanent refusal; the order fails. */
  | { kind: 'refused'; reason: string }
  /** The connection never opened: nothing was sent, safe to send again. */
  | { kind: 'not-sent'; reason: string }
  /** The provider answered 5xx: not delivered, safe to send again. */
  | { kind: 'failed'; reason: string }
  /** The request was sent but no answer came (read timeout, reset): it may have been delivered. */
  | { kind: 'unknown'; reason: string };

export interface DeliveryRequestBody {
  orderId: string;
  userId: string;
  giftId: string;
  quantity: number;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Limits of provider calls. */
export interface ProviderClientOptions {
  /** Time for the answer's headers once the request is sent, and between body chunks, in ms. */
  timeoutMs: number;
  /** Time for the connection to open, in ms. */
  connectTimeoutMs: number;
  /** Time for the whole call, body included, in ms (a trickled body cannot hold an attempt). */
  totalDeadlineMs: number;
  /** Largest answer body read, in bytes. */
  maxBodyBytes: number;
  /**
   * The release this instance runs (`RELEASE`), sent as `X-Rampart-Release` so a provider's logs (and
   * the stub's per-release faults) can tell a canary's calls apart. Default: no header.
   */
  release?: string;
}

/**
 * Called just before a delivery request goes out; false (or a throw) means it must not be sent:
 * the attempt lost its order, or its send record is not durable.
 */
export type BeforeSend = () => Promise<boolean>;

/**
 * HTTP client of gift providers (undici, one keep-alive pool per origin). Never throws: every
 * result, including transport failures, is classified into a ProviderOutcome at this one place.
 * Closed by the delivery app's shutdown after in-flight work drained; a call asked for after that
 * is `not-sent`, never a guess.
 */
export class ProviderClient {
  private readonly agent: Agent;
  private isClosing = false;

  constructor(private readonly options: ProviderClientOptions) {
    this.agent = new Agent({ connect: { timeout: options.connectTimeoutMs }, keepAliveTimeout: 10_000, connections: 128 });
  }

  async deliver(providerUrl: string, body: DeliveryRequestBody, beforeSend?: BeforeSend): Promise<ProviderOutcome> {
    if (this.isClosing) return { kind: 'not-sent', reason: 'provider client is closing' };
    try {
      if (beforeSend && !(await beforeSend())) return { kind: 'not-sent', reason: 'the attempt no longer owns the order' };
    } catch (err) {
      return { kind: 'not-sent', reason: `not sent: ${(err as Error).message}` };
    }
    const deadline = new Deadline(this.options.totalDeadlineMs);
    try {
      const res = await request(new URL('/deliveries', providerUrl), {
        method: 'POST',
        dispatcher: this.agent,
        headers: this.options.release ? { 'content-type': 'application/json', 'x-rampart-release': this.options.release } : { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: deadline.signal,
      });
      // The status decides the outcome; the body only carries the reference, so a body that is too
      // long or too slow costs the reference, never the delivery.
      const text = await readCapped(res.body, this.options.maxBodyBytes).catch(() => '');
      if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'delivered', providerRef: parseRef(text) };
      if (res.statusCode >= 400 && res.statusCode < 500) return { kind: 'refused', reason: `provider answered ${res.statusCode}` };
      return { kind: 'failed', reason: `provider answered ${res.statusCode}` };
    } catch (err) {
      return classifyTransportError(err);
    } finally {
      deadline.clear();
    }
  }

  /**
   * Asks an order-number provider whether it delivered an order (`GET {url}/deliveries/{orderId}`).
   * 'unknown' when it cannot tell (an error or no answer in time).
   */
  async lookup(providerUrl: string, orderId: string): Promise<'delivered' | 'absent' | 'unknown'> {
    const deadline = new Deadline(this.options.totalDeadlineMs);
    try {
      const res = await request(new URL(`/deliveries/${encodeURIComponent(orderId)}`, providerUrl), {
        method: 'GET',
        dispatcher: this.agent,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: deadline.signal,
      });
      await res.body.dump();
      if (res.statusCode === 200) return 'delivered';
      return res.statusCode === 404 ? 'absent' : 'unknown';
    } catch {
      return 'unknown';
    } finally {
      deadline.clear();
    }
  }

  /** Refuses new calls, lets running ones finish, closes the pools. Safe to call twice. */
  async close(): Promise<void> {
    if (this.isClosing) return;
    this.isClosing = true;
    await this.agent.close();
  }
}

/**
 * A call's total deadline as an abort signal, cleared when the call ends. `AbortSignal.timeout` would
 * do the same, but its timer runs out after every call that finished in time, and each then builds a
 * `DOMException` and dispatches an abort nobody listens to: about 1% of the delivery app's CPU under
 * sync claims (bench/README.md).
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.timer = setTimeout(() => this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** Reads a body as text, up to `maxBytes` (then the rest is dropped and the read fails). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new Error(`provider answer longer than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function classifyTransportError(err: unknown): ProviderOutcome {
  const code = (err as { code?: string }).code ?? '';
  const reason = `${code || 'error'}: ${(err as Error).message}`;
  if (NOT_SENT_CODES.has(code) || err instanceof errors.ConnectTimeoutError) return { kind: 'not-sent', reason };
  return { kind: 'unknown', reason };
}

function parseRef(text: string): string | undefined {
  try {
    const ref = (JSON.parse(text) as { providerRef?: unknown }).providerRef;
    return typeof ref === 'string' ? ref.slice(0, 256) : undefined;
  } catch {
    return undefined;
  }
}
