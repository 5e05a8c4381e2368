import { http, type JsonResponse } from './http.js';
import { waitFor } from './wait-for.js';

/** Polls an order until its status is one of `statuses`; returns the order. */
export async function waitForOrderStatus(
  gatewayUrl: string,
  token: string,
  orderId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<Record<string, any>> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const res = await http('GET', `${gatewayUrl}/api/orders/${orderId}`, { token });
        last = res.body;
        return res.status === 200 && statuses.includes(res.body.status) ? res.body : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `order ${orderId} to be ${statuses.join('|')}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

/** The stub provider's counters. */
export async function providerStats(providerUrl: string): Promise<{ calls: number; effectiveDeliveries: number; byOrder: Record<string, { calls: number; deliveries: number }> }> {
  return (await http('GET', `${providerUrl}/_stats`)).body;
}

export async function setFaults(providerUrl: string, faults: Record<string, unknown>): Promise<void> {
  const res = await http('PUT', `${providerUrl}/_faults`, { body: faults });
  if (res.status !== 200) throw new Error(`could not set faults: ${res.status} ${res.text}`);
}

/**
 * Claims with one key until a 2xx or a 4xx, as a client does after a 5xx or a lost answer; every
 * 503 on the way must carry `Retry-After` (else this throws). Undefined when the deadline passes.
 */
export async function claimUntilAnswered(url: string, token: string, key: string, deadlineMs: number, timeoutMs = 10_000): Promise<JsonResponse | undefined> {
  while (Date.now() < deadlineMs) {
    const res = await http('POST', url, { token, headers: { 'idempotency-key': key }, body: {}, timeoutMs }).catch(() => undefined);
    if (res && res.status < 500) return res;
    if (res && res.status === 503 && !res.headers.get('retry-after')) throw new Error(`503 without Retry-After for claim ${key}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/**
 * A read as a client makes it after a burst: a 503 with `Retry-After` (a door shed on a busy machine)
 * is repeated after a pause; any other answer is returned. Throws on a 503 without `Retry-After`.
 */
export async function readUntilServed(url: string, token: string, timeoutMs = 10_000): Promise<JsonResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await http('GET', url, { token });
    if (res.status !== 503 || Date.now() >= deadline) return res;
    if (!res.headers.get('retry-after')) throw new Error(`503 without Retry-After for ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
