import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { Patterns, type ClaimGiftReply, type ClaimGiftRequest, type Reply } from '@app/contracts';
import { signServiceMessage } from '@app/platform';
import { http } from '../support/http.js';
import { waitForOrderStatus } from '../support/orders.js';
import { TEST_SERVICE_TOKEN } from '../support/spawn-app.js';
import { demoActivity, startSuite, type Suite } from '../support/suite.js';

jest.setTimeout(60_000);

// Deadlines that travel: the gateway puts its deadline in every message (meta.deadline). A delivery
// instance drops a claim whose caller has already given up, and does not start a provider call it
// cannot finish before the deadline (the claim is queued, 202, and delivered by the worker).
describe('deadlines on the gateway→delivery hop (real delivery process over TCP)', () => {
  let suite: Suite;
  let client: ClientProxy;
  const GIFT = 'deadline-g1';

  beforeAll(async () => {
    suite = await startSuite({ deliveryEnv: { PROVIDER_TIMEOUT_MS: '1000' } }); // total provider deadline 1.5 s
    const res = await http('PUT', `${suite.gatewayUrls[0]}/admin/activities/deadlines`, { token: suite.adminToken, body: demoActivity(suite.providerUrl, [{ giftId: GIFT, perUserLimit: 10 }]) });
    expect(res.status).toBeLessThan(300);
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: suite.deliveryTcpPorts[0] } });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await suite?.stop();
  });

  const claim = (orderId: string, deadline: number) => {
    const request: ClaimGiftRequest = { meta: { requestId: orderId, deadline }, giftId: GIFT, userId: 'deadline-user', orderId };
    return firstValueFrom(client.send<Reply<ClaimGiftReply>>(Patterns.ClaimGift, signServiceMessage(TEST_SERVICE_TOKEN, Patterns.ClaimGift, request)).pipe(timeout(10_000)));
  };

  it('drops a claim whose deadline has passed: no order is made', async () => {
    const reply = await claim('deadline-late', Date.now() - 1);
    expect(reply).toMatchObject({ ok: false, error: { code: 'SERVICE_UNAVAILABLE' } });
    const token = await suite.token('deadline-user');
    expect((await http('GET', `${suite.gatewayUrls[0]}/api/orders/deadline-late`, { token })).status).toBe(404);
  });

  it('queues a claim it could not deliver before the deadline, and delivers it synchronously when there is time', async () => {
    expect(await claim('deadline-short', Date.now() + 800)).toEqual({ ok: true, value: { orderId: 'deadline-short', status: 'queued' } });
    expect(await claim('deadline-long', Date.now() + 10_000)).toEqual({ ok: true, value: { orderId: 'deadline-long', status: 'delivered' } });
    const token = await suite.token('deadline-user');
    await waitForOrderStatus(suite.gatewayUrls[0], token, 'deadline-short', ['delivered'], 20_000);
  });
});
