import { createServer, type Server, type Socket } from 'node:net';
import { Subject } from 'rxjs';
import { Logger } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { AppError, ErrorCode, fail, ok, Patterns } from '@app/contracts';
import { ReleaseRouter, RoundRobinRouter, SuccessRateRouter } from '@app/routing';
import { UpstreamClient, type ServedBy } from './upstream.client.js';

type Behaviour = 'answer' | 'refuse-business' | 'silent' | 'drop' | 'throw' | 'garbage';

/** A TCP server speaking Nest's framing (`<length>#<json>`), with a switchable behaviour. */
class FakeInstance {
  behaviour: Behaviour = 'answer';
  /** The release named in ping replies (none: the reply names none, as an instance before RELEASE). */
  release?: string;
  readonly received: string[] = [];
  /** The messages' payloads, in arrival order. */
  readonly payloads: unknown[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    this.serve(socket);
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.on('data', (data) => {
      buffer += data.toString();
      // Several packets may arrive in one chunk: split on the `<length>#` frames.
      for (;;) {
        const hash = buffer.indexOf('#');
        if (hash < 0) return;
        const length = Number(buffer.slice(0, hash));
        if (buffer.length < hash + 1 + length) return;
        const packet = JSON.parse(buffer.slice(hash + 1, hash + 1 + length)) as { id: string; pattern: string; data: unknown };
        this.payloads.push(packet.data);
        buffer = buffer.slice(hash + 1 + length);
        this.handle(socket, packet);
      }
    });
  }

  private handle(socket: Socket, packet: { id: string; pattern: string }): void {
    this.received.push(packet.pattern);
    const answer = (body: object) => {
      const json = JSON.stringify({ id: packet.id, isDisposed: true, ...body });
      socket.write(`${json.length}#${json}`);
    };
    const pong = packet.pattern === Patterns.Ping && this.release ? { pong: true, release: this.release } : undefined;
    if (this.behaviour === 'answer') answer({ response: ok(pong ?? { pattern: packet.pattern }) });
    if (this.behaviour === 'refuse-business') answer({ response: fail(ErrorCode.SoldOut, 'gift g1 has no inventory left') });
    if (this.behaviour === 'throw') answer({ err: { status: 'error', message: 'Internal server error' } });
    if (this.behaviour === 'garbage') answer({ response: { hello: 'world' } });
    if (this.behaviour === 'drop') socket.destroy();
  }
}

async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an AppError');
}

const read = { timeoutMs: 300, retryOnOtherInstance: true };
const claim = { timeoutMs: 300, retryOnOtherInstance: false };

describe('UpstreamClient', () => {
  let instance: FakeInstance;
  let up: string;
  let down: string;
  const clients: UpstreamClient[] = [];

  function clientFor(addresses: string[]) {
    const router = new RoundRobinRouter(addresses, { name: 'query' });
    const report = jest.spyOn(router, 'report');
    const client = new UpstreamClient('query', router);
    clients.push(client);
    return { client, report };
  }

  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));

  beforeEach(async () => {
    instance = new FakeInstance();
    up = await instance.start();
    down = await closedAddress();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await instance.stop();
  });

  it('returns the value of an ok reply and reports a success', async () => {
    const { client, report } = clientFor([up]);
    await expect(client.call(Patterns.GetGift, { giftId: 'g1' }, read)).resolves.toEqual({ pattern: Patterns.GetGift });
    expect(report).toHaveBeenCalledWith(up, 'success', expect.any(Number), false);
  });

  it('sends each attempt with its deadline (now + its timeout) in meta, keeping the rest of the payload', async () => {
    const { client } = clientFor([up]);
    const before = Date.now();
    await client.call(Patterns.GetGift, { meta: { requestId: 'r1' }, giftId: 'g1' }, read);
    const after = Date.now();
    const sent = instance.payloads.at(-1) as { meta: { requestId: string; deadline: number }; giftId: string };
    expect(sent).toMatchObject({ meta: { requestId: 'r1' }, giftId: 'g1' });
    expect(sent.meta.deadline).toBeGreaterThanOrEqual(before + read.timeoutMs);
    expect(sent.meta.deadline).toBeLessThanOrEqual(after + read.timeoutMs);
  });

  it('throws a business refusal as its AppError and still reports a success', async () => {
    instance.behaviour = 'refuse-business';
    const { client, report } = clientFor([up]);
    const err = await errorOf(client.call(Patterns.ClaimGift, {}, claim));
    expect(err.code).toBe(ErrorCode.SoldOut);
    expect(report).toHaveBeenCalledWith(up, 'success', expect.any(Number), false);
  });

  it('retries a refused read once on another instance', async () => {
    const { client, report } = clientFor([down, up]);
    await expect(client.call(Patterns.GetGift, {}, read)).resolves.toEqual({ pattern: Patterns.GetGift });
    expect(report.mock.calls.map(([address, outcome]) => [address, outcome])).toEqual([[down, 'transport'], [up, 'success']]);
  });

  it('never retries a claim on another instance', async () => {
    const { client } = clientFor([down, up]);
    const err = await errorOf(client.call(Patterns.ClaimGift, {}, claim));
    expect(err.code).toBe(ErrorCode.UpstreamUnreachable);
    expect(err.message).not.toContain('127.0.0.1');
    expect(instance.received).toEqual([]);
  });

  it('fails fast when the only instance refuses, even for a read', async () => {
    const { client } = clientFor([down]);
    const startedMs = Date.now();
    expect((await errorOf(client.call(Patterns.GetGift, {}, { ...read, timeoutMs: 5_000 }))).code).toBe(ErrorCode.UpstreamUnreachable);
    expect(Date.now() - startedMs).toBeLessThan(1_000);
  });

  it('times out a silent instance and reports a timeout', async () => {
    instance.behaviour = 'silent';
    const { client, report } = clientFor([up]);
    const err = await errorOf(client.call(Patterns.GetGift, {}, { ...read, timeoutMs: 100 }));
    expect(err.code).toBe(ErrorCode.UpstreamTimeout);
    expect(report).toHaveBeenCalledWith(up, 'timeout', expect.any(Number), false);
  });

  it('maps a connection closed mid-call to unreachable, then dials again', async () => {
    instance.behaviour = 'drop';
    const { client } = clientFor([up]);
    expect((await errorOf(client.call(Patterns.GetGift, {}, read))).code).toBe(ErrorCode.UpstreamUnreachable);
    instance.behaviour = 'answer';
    await expect(client.call(Patterns.GetGift, {}, read)).resolves.toEqual({ pattern: Patterns.GetGift });
  });

  it.each<Behaviour>(['throw', 'garbage'])('maps a server that answers %s to INTERNAL', async (behaviour) => {
    instance.behaviour = behaviour;
    const { client, report } = clientFor([up]);
    expect((await errorOf(client.call(Patterns.GetGift, {}, read))).code).toBe(ErrorCode.Internal);
    expect(report).toHaveBeenCalledWith(up, 'server-error', expect.any(Number), false);
  });

  it('is ready while at least one instance answers ping', async () => {
    await expect(clientFor([down, up]).client.anyInstanceAnswers(300)).resolves.toBe('ok');
    await expect(clientFor([down]).client.anyInstanceAnswers(300)).resolves.toMatch(/no query instance answered/);
  });

  it('destroys a connect that is still pending when the call times out', async () => {
    const socket = { destroy: jest.fn() };
    const fake = {
      status: new Subject<string>(),
      send: () => new Subject(),
      unwrap: () => socket,
      close: jest.fn(),
    } as unknown as ClientProxy;
    const client = new UpstreamClient('query', new RoundRobinRouter(['blackhole:1']), () => fake);
    expect((await errorOf(client.call(Patterns.GetGift, {}, { ...read, timeoutMs: 20 }))).code).toBe(ErrorCode.UpstreamTimeout);
    expect(socket.destroy).toHaveBeenCalled();
  });

  describe('with success-rate routing', () => {
    function routed(addresses: string[], probeIntervalMs = 50) {
      const router = new SuccessRateRouter(addresses, { name: 'query', baseEjectionMs: 200, maxEjectionMs: 1_000 });
      const client = new UpstreamClient('query', router, { probeIntervalMs, probeTimeoutMs: 200 });
      clients.push(client);
      const state = (address: string) => client.snapshot().find((s) => s.endpoint === address)?.state;
      return { client, router, state };
    }

    it('ejects a refused instance at once and serves reads from the other', async () => {
      const { client, state } = routed([down, up]);
      for (let i = 0; i < 5; i++) await expect(client.call(Patterns.GetGift, {}, read)).resolves.toEqual({ pattern: Patterns.GetGift });
      expect(state(down)).toBe('ejected');
      expect(state(up)).toBe('healthy');
      await expect(client.anyInstanceAnswers(300)).resolves.toBe('ok');
    });

    it('probes an ejected instance with Ping and readmits it once it answers', async () => {
      instance.behaviour = 'silent';
      const other = new FakeInstance();
      const otherAddress = await other.start();
      try {
        const { client, state } = routed([up, otherAddress]);
        // Concurrent calls spread over both (P2C balances calls in flight); the silent one times out.
        for (let round = 0; round < 10 && state(up) !== 'ejected'; round++) {
          await Promise.all(Array.from({ length: 12 }, () => client.call(Patterns.GetGift, {}, { ...read, timeoutMs: 30 }).catch(() => undefined)));
        }
        expect(state(up)).toBe('ejected');
        instance.behaviour = 'answer';
        const deadline = Date.now() + 5_000;
        while (state(up) !== 'healthy' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        expect(state(up)).toBe('healthy');
        expect(instance.received).toContain(Patterns.Ping);
      } finally {
        await other.stop();
      }
    });

    it('takes a new instance list and closes the connections of removed instances', async () => {
      const other = new FakeInstance();
      const otherAddress = await other.start();
      try {
        const { client } = routed([up]);
        await client.call(Patterns.GetGift, {}, read);
        client.setEndpoints([otherAddress]);
        expect(client.endpoints()).toEqual([otherAddress]);
        await client.call(Patterns.GetGift, {}, read);
        expect(other.received).toEqual([Patterns.GetGift]);
        expect(client.snapshot().map((s) => s.endpoint)).toEqual([otherAddress]);
      } finally {
        await other.stop();
      }
    });
  });

  describe('gray release (ReleaseRouter)', () => {
    it('learns each instance\'s release from its ping, sends a user to their release and says which served', async () => {
      const canary = new FakeInstance();
      canary.release = 'canary-1';
      const canaryAddress = await canary.start();
      try {
        const router = new ReleaseRouter([up, canaryAddress], (_release, endpoints) => new SuccessRateRouter(endpoints, { name: 'query' }), { name: 'query' });
        const client = new UpstreamClient('query', router, { releaseLearnIntervalMs: 50 });
        clients.push(client);
        for (let i = 0; i < 100 && router.releaseOf(canaryAddress) !== 'canary-1'; i++) await new Promise((r) => setTimeout(r, 20));
        expect(router.releaseOf(canaryAddress)).toBe('canary-1');
        expect(router.releaseOf(up)).toBe('stable'); // its ping names no release
        client.setRollout({ stable: 'stable', canary: 'canary-1', weightPct: 100, salt: 's' });
        const served: ServedBy = {};
        await client.call(Patterns.GetGift, { meta: { requestId: 'r1' }, giftId: 'g1' }, { ...read, userId: 'u1', served });
        expect(served).toEqual({ address: canaryAddress, release: 'canary-1' });
        expect(canary.received).toContain(Patterns.GetGift);
        const operator: ServedBy = {};
        await client.call(Patterns.GetGift, { meta: { requestId: 'r2' }, giftId: 'g1' }, { ...read, served: operator });
        expect(operator).toEqual({ address: up, release: 'stable' });
        // The registry's word is taken as well (discovery), and sticks.
        client.setReleases(new Map([[up, 'v2']]));
        expect(router.releasesSeen().sort()).toEqual(['canary-1', 'v2']);
      } finally {
        await canary.stop();
      }
    });
  });
});
