import { http } from '../../test/support/http.js';
import { demoActivity, type Suite } from '../../test/support/suite.js';

/** Publishes an open activity through the gateway's admin API; throws with the answer on failure. */
export async function publishActivity(suite: Suite, activityId: string, gifts: Array<Record<string, unknown>>): Promise<void> {
  const res = await http('PUT', `${suite.gatewayUrls[0]}/admin/activities/${activityId}`, {
    token: suite.adminToken,
    body: demoActivity(suite.providerUrl, gifts),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`publishing ${activityId} failed: ${res.status} ${res.text}`);
}

/** `Authorization` headers of `count` users `<prefix>-<i>`, signed once up front (valid 1 h). */
export async function userAuthHeaders(suite: Suite, prefix: string, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => `Bearer ${await suite.token(`${prefix}-${i}`)}`));
}
