import { Injectable, type OnModuleDestroy } from '@nestjs/common';
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

/**
 * HTTP client of gift providers (undici, one keep-alive pool per origin). Never throws: every
 * result, including transport failures, is classified into a ProviderOutcome at this one place.
 */
@Injectable()
export class ProviderClient implements OnModuleDestroy {
  private readonly agent: Agent;

  /**
   * @param timeoutMs time for the whole answer once the request is sent.
   * @param connectTimeoutMs time for the connection to open.
   */
  constructor(
    private readonly timeoutMs: number,
    connectTimeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000, connections: 128 });
  }

  async deliver(providerUrl: string, body: DeliveryRequestBody): Promise<ProviderOutcome> {
    try {
      const res = await request(new URL('/deliveries', providerUrl), {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'delivered', providerRef: parseRef(text) };
      if (res.statusCode >= 400 && res.statusCode < 500) return { kind: 'refused', reason: `provider answered ${res.statusCode}` };
      return { kind: 'failed', reason: `provider answered ${res.statusCode}` };
    } catch (err) {
      return classifyTransportError(err);
    }
  }

  /**
   * Asks an order-number provider whether it delivered an order (`GET {url}/deliveries/{orderId}`).
   * 'unknown' when it cannot tell (an error or no answer in time).
   */
  async lookup(providerUrl: string, orderId: string): Promise<'delivered' | 'absent' | 'unknown'> {
    try {
      const res = await request(new URL(`/deliveries/${encodeURIComponent(orderId)}`, providerUrl), {
        method: 'GET',
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode === 200) return 'delivered';
      return res.statusCode === 404 ? 'absent' : 'unknown';
    } catch {
      return 'unknown';
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
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
