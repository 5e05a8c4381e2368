// A browser client of the Rampart API, typed from the gateway's own OpenAPI document:
//   npx openapi-typescript http://localhost:3000/openapi.json -o rampart-api.d.ts
// (in this repository `npm run docs:api` writes it here). tools/api-docs/typed-client.spec.ts
// type-checks this file against types generated from the document the code produces.
import type { components, paths } from './rampart-api.js';

type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;
type ClaimOperation = paths['/api/gifts/{giftId}/claims']['post'];
type TicketOperation = paths['/api/orders/{orderId}/events/ticket']['post'];

/** 200 (settled) or 202 (delivery continues): `{ orderId, status }`. */
export type ClaimAccepted = JsonOf<ClaimOperation['responses'][200 | 202]>;
/** The error bodies a claim can answer, every documented status. */
type ClaimErrorBody = JsonOf<ClaimOperation['responses'][Exclude<keyof ClaimOperation['responses'], 200 | 202>]>;
export type ClaimErrorCode = ClaimErrorBody['error']['code'];
export type OrderStatus = components['schemas']['OrderStatus'];
/** The `data:` of an order event (`event: status`). */
export type OrderEvent = Pick<components['schemas']['Order'], 'orderId' | 'status'>;

export type ClaimOutcome =
  | { kind: 'accepted'; orderId: string; status: OrderStatus }
  /** Show to the user (sold out, not active, limits...). */
  | { kind: 'refused'; code: ClaimErrorCode; message: string }
  /** The token is missing or expired: sign in again. */
  | { kind: 'sign-in'; code: ClaimErrorCode; message: string }
  /** Still unavailable after the retries; the same order number is safe to use later. */
  | { kind: 'unavailable'; code: ClaimErrorCode; message: string }
  /** A bug in this client; report it with the requestId. */
  | { kind: 'bug'; code: ClaimErrorCode; message: string; requestId: string };

/**
 * What to do about each code a claim can answer. The switch is exhaustive: when the API documents
 * a new code for the claim, this does not compile until it is handled.
 */
export function onClaimError(code: ClaimErrorCode): 'refused' | 'retry' | 'sign-in' | 'bug' {
  switch (code) {
    case 'NOT_ACTIVE':
    case 'USER_LIMIT_REACHED':
    case 'TOO_MANY_UNCERTAIN':
    case 'SOLD_OUT':
    case 'DAILY_LIMIT_REACHED':
    case 'NOT_FOUND':
      return 'refused';
    case 'RATE_LIMITED':
    case 'SERVICE_UNAVAILABLE':
      return 'retry'; // after Retry-After; the same Idempotency-Key makes a repeat safe
    case 'UNAUTHORIZED':
      return 'sign-in';
    case 'IDEMPOTENCY_KEY_REUSED': // a new order needs a new order number
    case 'BAD_REQUEST':
    case 'PAYLOAD_TOO_LARGE':
    case 'INTERNAL':
      return 'bug';
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Claims a gift. `orderNumber` is the Idempotency-Key: make it once per order (e.g. the shop's
 * order number) and reuse it for every repeat, so the gift is delivered at most once.
 */
export async function claimGift(baseUrl: string, token: string, giftId: string, orderNumber: string, maxTries = 4): Promise<ClaimOutcome> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}/api/gifts/${encodeURIComponent(giftId)}/claims`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': orderNumber, 'content-type': 'application/json' },
        body: '{}',
      });
    } catch (err) {
      // No answer: the claim may or may not have been made. Repeating with the same key is safe.
      if (attempt >= maxTries) throw err;
      await sleep(500 * attempt);
      continue;
    }
    if (res.status === 200 || res.status === 202) {
      const { orderId, status } = (await res.json()) as ClaimAccepted;
      return { kind: 'accepted', orderId, status };
    }
    const { error } = (await res.json()) as ClaimErrorBody;
    const action = onClaimError(error.code);
    if (action === 'retry') {
      if (attempt < maxTries) {
        await sleep(Number(res.headers.get('retry-after') ?? attempt) * 1000);
        continue;
      }
      return { kind: 'unavailable', code: error.code, message: error.message };
    }
    if (action === 'bug') return { kind: 'bug', code: error.code, message: error.message, requestId: error.requestId };
    return { kind: action, code: error.code, message: error.message };
  }
}

/**
 * Follows an order's status in a browser until it is `delivered` or `failed`. `EventSource` cannot
 * send `Authorization`, so each connection opens with a fresh ticket (valid 60 s, this order only).
 * The stream ends after 10 minutes at most and may be cut; then this reconnects with a new ticket,
 * and the stream starts again with the current status. Returns a function that stops following.
 */
export function followOrder(baseUrl: string, token: string, orderId: string, onStatus: (status: OrderStatus) => void): () => void {
  let source: EventSource | undefined;
  let isStopped = false;
  const stop = () => {
    isStopped = true;
    source?.close();
  };
  const open = async (): Promise<void> => {
    const res = await fetch(`${baseUrl}/api/orders/${encodeURIComponent(orderId)}/events/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) {
      const { error } = (await res.json()) as JsonOf<TicketOperation['responses'][401 | 404 | 503]>;
      if (error.code === 'SERVICE_UNAVAILABLE' && !isStopped) setTimeout(() => void open(), 3_000);
      else stop(); // UNAUTHORIZED: sign in again; NOT_FOUND: not this user's order
      return;
    }
    const { ticket } = (await res.json()) as JsonOf<TicketOperation['responses'][200]>;
    if (isStopped) return;
    source = new EventSource(`${baseUrl}/api/orders/${encodeURIComponent(orderId)}/events?ticket=${encodeURIComponent(ticket)}`);
    source.addEventListener('status', (event) => {
      const { status } = JSON.parse((event as MessageEvent<string>).data) as OrderEvent;
      onStatus(status);
      if (status === 'delivered' || status === 'failed') stop();
    });
    source.onerror = () => {
      // EventSource would reconnect by itself with the same (maybe expired) ticket: get a new one.
      source?.close();
      if (!isStopped) setTimeout(() => void open(), 3_000);
    };
  };
  void open();
  return stop;
}
