/** Body of `POST /deliveries` (contract section 5). */
export type DeliveryRequest = { orderId: string; userId: string; giftId: string; quantity: number };

export type DeliveryRequestParse = { ok: true; request: DeliveryRequest } | { ok: false; problem: string };

/** Longest id the stub accepts, in characters (the contract's ids are 1-128). */
const MAX_ID_LENGTH = 128;

/**
 * Checks a delivery request. Extra fields are tolerated, as a real provider would; the named ones
 * must be present and well typed.
 */
export function parseDeliveryRequest(body: unknown): DeliveryRequestParse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problem: 'body must be a JSON object' };
  }
  const input = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['orderId', 'userId', 'giftId'] as const) {
    const value = input[field];
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_ID_LENGTH) {
      problems.push(`${field} must be a string of 1-${MAX_ID_LENGTH} characters`);
    }
  }
  if (!Number.isInteger(input.quantity) || (input.quantity as number) < 1) {
    problems.push('quantity must be a positive integer');
  }
  if (problems.length) return { ok: false, problem: problems.join('; ') };
  const { orderId, userId, giftId, quantity } = input as DeliveryRequest;
  return { ok: true, request: { orderId, userId, giftId, quantity } };
}
