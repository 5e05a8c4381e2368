import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Proof that a gateway-to-service message comes from a holder of `SERVICE_TOKEN`: every message's
 * payload carries `serviceAuth: { ts, mac }`, mac = HMAC-SHA256(token, pattern \n ts \n body), body
 * being the JSON of the payload without `serviceAuth`. The pattern is in the MAC, so a signed read
 * cannot be replayed as a claim; the time bounds a replay to `maxSkewMs`.
 */
export interface ServiceAuth {
  /** Milliseconds since the epoch when the message was signed. */
  ts: number;
  /** Hex HMAC-SHA256. */
  mac: string;
}

/** Field of the payload that carries the proof. */
export const SERVICE_AUTH_FIELD = 'serviceAuth';

/** How far a message's time may be from the receiver's clock, in ms. */
export const DEFAULT_MAX_SKEW_MS = 30_000;

function macOf(token: string, pattern: string, ts: number, body: string): Buffer {
  return createHmac('sha256', token).update(`${pattern}\n${ts}\n${body}`).digest();
}

/** The payload with its proof added (a new object; the input is not changed). */
export function signServiceMessage<T extends object>(token: string, pattern: string, payload: T, nowMs = Date.now()): T & { serviceAuth: ServiceAuth } {
  const body = JSON.stringify(payload);
  return { ...payload, [SERVICE_AUTH_FIELD]: { ts: nowMs, mac: macOf(token, pattern, nowMs, body).toString('hex') } } as T & { serviceAuth: ServiceAuth };
}

export type ServiceAuthCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a received payload's proof in constant time and, when it holds, removes it from the
 * payload (in place: handlers see the message as it was sent).
 */
export function verifyServiceMessage(token: string, pattern: string, payload: unknown, nowMs = Date.now(), maxSkewMs = DEFAULT_MAX_SKEW_MS): ServiceAuthCheck {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, reason: 'message has no service proof' };
  const record = payload as Record<string, unknown>;
  const auth = record[SERVICE_AUTH_FIELD] as Partial<ServiceAuth> | undefined;
  if (!auth || typeof auth.ts !== 'number' || typeof auth.mac !== 'string' || !/^[0-9a-f]{64}$/.test(auth.mac)) {
    return { ok: false, reason: 'message has no service proof' };
  }
  if (Math.abs(nowMs - auth.ts) > maxSkewMs) return { ok: false, reason: 'service proof is too old or from the future' };
  const { [SERVICE_AUTH_FIELD]: _proof, ...rest } = record;
  const expected = macOf(token, pattern, auth.ts, JSON.stringify(rest));
  const given = Buffer.from(auth.mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'service proof does not match' };
  delete record[SERVICE_AUTH_FIELD];
  return { ok: true };
}
