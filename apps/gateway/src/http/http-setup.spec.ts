import { connect } from 'node:net';
import { loadGatewayConfig } from '../config/gateway.config.js';
import { createGatewayAdapter } from './http-setup.js';

const config = loadGatewayConfig({ JWT_SECRET: 'jwt-'.repeat(8), ADMIN_TOKEN: 'adm-'.repeat(6), SERVICE_TOKEN: 'svc-'.repeat(8) });

// Torture seed 3: a claim that reached a gateway on a busy keep-alive connection while it was stopping
// (SIGTERM) got Fastify's own 503 — no Retry-After, not the contract's error shape. A stopping gateway
// serves such a request and closes the connection after it.
describe('gateway HTTP while it stops', () => {
  it('serves a request that arrives on a busy keep-alive connection during close, and closes the connection', async () => {
    const fastify = createGatewayAdapter(config).getInstance();
    // No sleeps (a loaded machine misses them): /slow runs until released, and is released only once
    // the server has read the second request's bytes from the connection.
    let slowStarted!: () => void;
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    let releaseSlow!: () => void;
    const released = new Promise<void>((resolve) => (releaseSlow = resolve));
    fastify.get('/slow', async () => {
      slowStarted();
      await released;
      return { slow: true };
    });
    fastify.get('/fast', async () => ({ fast: true }));
    let chunksRead = 0;
    let onChunk = () => undefined as void;
    fastify.server.on('connection', (serverSide) => serverSide.on('data', () => (chunksRead++, onChunk())));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // A slow request keeps the connection busy (so close() does not reap it); the next request on it
    // arrives after close() began.
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await started;
    const secondRead = new Promise<void>((resolve) => (onChunk = () => (chunksRead >= 2 ? resolve() : undefined)));
    const closing = fastify.close();
    socket.write('GET /fast HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await secondRead;
    releaseSlow();
    await closed;
    await closing;
    expect(received).toContain('{"slow":true}');
    expect(received).toContain('{"fast":true}');
    expect(received).not.toContain('"statusCode":503');
    expect(received).toMatch(/Connection: close[\s\S]*\{"fast":true\}/i);
  });
});
