import { http } from './http.js';
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
