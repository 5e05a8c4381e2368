import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { createLogger } from './json.logger.js';
import { logRequests } from './request-logging.js';

/** A logger writing into an array of parsed lines. */
function capture(level: 'debug' | 'log' = 'log') {
  const lines: Array<Record<string, any>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { logger: createLogger('spec-app', level, sink), lines, raw };
}

describe('createLogger', () => {
  it('writes an event object as top-level fields of one JSON line, with app, level word and ISO time', () => {
    const { logger, lines, raw } = capture();
    logger.warn({ event: 'breaker.open', breaker: 'query.get' }, 'ResiliencePolicies');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', app: 'spec-app', context: 'ResiliencePolicies', event: 'breaker.open', breaker: 'query.get' });
    expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time);
    // Tests and npm start find events by this exact substring.
    expect(raw[0]).toContain('"event":"breaker.open"');
  });

  it("drops Nest's boot chatter at log level but keeps its warnings", () => {
    const { logger, lines } = capture();
    logger.log('Mapped {/api/gifts/:giftId, GET} route', 'RouterExplorer');
    logger.log('GiftsController {/api/gifts}:', 'RoutesResolver');
    logger.log('GatewayModule dependencies initialized', 'InstanceLoader');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.warn('something odd', 'RoutesResolver');
    logger.log({ event: 'app.ready', port: 1 });
    expect(lines.map((l) => l.event ?? l.msg)).toEqual(['something odd', 'app.ready']);
  });

  it('redacts credentials wherever they are named, top level or one down', () => {
    const { logger, raw } = capture();
    logger.log({ event: 'x', token: 'tok-SECRET-1', headers: { authorization: 'Bearer SECRET-2' }, meta: { ticket: 'SECRET-3', password: 'SECRET-4' } });
    expect(raw[0]).not.toMatch(/SECRET/);
    expect(JSON.parse(raw[0])).toMatchObject({ token: '[redacted]', headers: { authorization: '[redacted]' }, meta: { ticket: '[redacted]' } });
  });

  it('honours the level: debug lines only at LOG_LEVEL=debug', () => {
    const quiet = capture('log');
    quiet.logger.debug({ event: 'claim.steps' });
    expect(quiet.lines).toHaveLength(0);
    const loud = capture('debug');
    loud.logger.debug({ event: 'claim.steps' });
    expect(loud.lines[0]).toMatchObject({ level: 'debug', event: 'claim.steps' });
  });
});

describe('logRequests', () => {
  it('logs one http.request line per request with id, route, status and duration; 5xx at error; no headers, no query string; health and metrics not at all', async () => {
    const { logger, lines, raw } = capture();
    const fastify = Fastify({ genReqId: (req) => String(req.headers['x-request-id'] ?? 'generated') });
    logRequests(fastify, logger.pino);
    fastify.get('/api/gifts/:giftId', async () => ({ ok: true }));
    fastify.get('/api/boom', async (_req, reply) => reply.code(503).send({ error: 'x' }));
    fastify.get('/health/ready', async () => ({ ok: true }));
    fastify.get('/metrics', async () => 'm 1');
    await fastify.inject({ url: '/api/gifts/g1?ticket=SECRET-TICKET', headers: { authorization: 'Bearer SECRET-JWT', 'x-request-id': 'r-1' } });
    await fastify.inject({ url: '/api/boom', headers: { 'x-request-id': 'r-2' } });
    await fastify.inject({ url: '/health/ready' });
    await fastify.inject({ url: '/metrics' });
    await fastify.inject({ url: '/nope' });
    await fastify.close();

    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', event: 'http.request', requestId: 'r-1', method: 'GET', route: '/api/gifts/:giftId', path: '/api/gifts/g1', status: 200, durationMs: expect.any(Number) }),
      expect.objectContaining({ level: 'error', event: 'http.request', requestId: 'r-2', route: '/api/boom', status: 503 }),
      expect.objectContaining({ event: 'http.request', route: 'unmatched', path: '/nope', status: 404 }),
    ]);
    expect(raw.join('\n')).not.toMatch(/SECRET|authorization/i);
    // The line skips redaction: only these fixed fields may ever be in it.
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(['app', 'durationMs', 'event', 'level', 'method', 'msg', 'path', 'pid', 'requestId', 'route', 'status', 'time']);
  });

  it('keeps redacting the app\'s other lines', () => {
    const { logger, raw } = capture();
    logRequests(Fastify(), logger.pino);
    logger.log({ event: 'x', token: 'SECRET-1' });
    expect(raw[0]).not.toMatch(/SECRET/);
  });
});
