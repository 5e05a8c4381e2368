/**
 * Stub gift provider (contract section 5) with switchable faults, for local runs, e2e tests and
 * benchmarks. Plain node:http and in-memory state, so it stays out of the way at thousands of req/s.
 *
 * Provider API:
 *   POST /deliveries {orderId,userId,giftId,quantity} -> 200 {status:"delivered",providerRef}
 *        400 bad JSON or fields, 413 body over `maxBodyBytes`, 422 {error:"refused"}, 503 {error:"unavailable"}
 *   GET  /deliveries/{orderId} -> 200 {status:"delivered",providerRef} | 404 {error:"not found"}
 * Control API (never faulted, never delayed):
 *   GET|PUT|DELETE /_faults  current faults | replace them ({latencyMs?,errorRate?,rejectRate?,mode?,refuse?}) | reset
 *   GET|DELETE     /_stats   {calls,effectiveDeliveries,byOrder,byOrderTruncated,failuresByOrder} | zero the counters
 *                             (failuresByOrder: POSTs answered 503 per orderId)
 *
 * Faults on POST /deliveries, in the order they are decided (every valid POST counts as a call first):
 *   refuse              {giftIds, release?}: 422 for those gifts at once; with `release`, only for calls
 *                       whose X-Rampart-Release header names it (a canary breaking one activity)
 *   reset               destroy the socket without answering; nothing delivered
 *   hang                never answer, socket left open; nothing delivered
 *   hang-first          the first POST of each orderId (since faults were last set) hangs undelivered;
 *                       later ones behave as `none`
 *   answer-after-delay  reject/error draws, then deliver at once, then answer after `latencyMs`
 *                       (a provider that times out but delivered anyway)
 *   trickle             reject/error draws, then deliver at once, send the 200's headers at once and
 *                       then its body one byte every `latencyMs` (50 ms when 0): a client that only
 *                       bounds the gap between bytes waits for ever, one with a total deadline gives up
 *   none / reject       wait `latencyMs`, then: 422 if mode is `reject` or a `rejectRate` draw hits,
 *                       503 if an `errorRate` draw hits, else deliver and answer 200. The delivery is
 *                       made even if the client gave up meanwhile, as a real slow provider would.
 * GET /deliveries/{orderId} honours reset, hang, errorRate and latencyMs (a sick provider is sick for
 * lookups too), but not reject, hang-first or trickle, so a caller can always check what was delivered.
 *
 * Idempotency: with `orderNumbers` a repeated orderId returns the first providerRef and is not a new
 * delivery; without, every delivered POST is a new delivery.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeliveryLedger, DEFAULT_MAX_TRACKED_ORDERS } from './delivery.ledger.js';
import { DEFAULT_TRICKLE_BYTE_MS, NO_FAULTS, parseFaultSettings, type FaultSettings } from './fault-settings.js';
import { parseDeliveryRequest } from './delivery-request.js';

export type ProviderStubOptions = {
  /** TCP port; 0 picks a free one. Default 7001. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Whether a repeated orderId is the same delivery. Default true. */
  orderNumbers?: boolean;
  /** Faults from start-up. Default none. */
  faults?: FaultSettings;
  /** Largest accepted request body, in bytes. Default 16 KiB. */
  maxBodyBytes?: number;
  /** Most orders detailed in `byOrder` of `GET /_stats`. Default 100 000. */
  maxTrackedOrders?: number;
  /** Receives one object per state change (faults set). Default: discarded. */
  log?: (event: Record<string, unknown>) => void;
};

export type ProviderStub = {
  /** The port actually bound (useful with `port: 0`). */
  port: number;
  /** Stops listening and destroys every open socket, hung ones included. Safe to call twice. */
  close(): Promise<void>;
};

class BodyTooLargeError extends Error {}

export async function startProviderStub(options: ProviderStubOptions = {}): Promise<ProviderStub> {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024;
  const log = options.log ?? (() => undefined);
  const ledger = new DeliveryLedger(options.orderNumbers ?? true, options.maxTrackedOrders ?? DEFAULT_MAX_TRACKED_ORDERS);
  let faults: FaultSettings = options.faults ?? NO_FAULTS;
  let hungOnce = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  const setFaults = (next: FaultSettings): void => {
    faults = next;
    hungOnce = new Set();
    log({ event: 'faults.changed', ...next });
  };

  async function postDelivery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseDeliveryRequest(await readJson(req, maxBodyBytes));
    if (!parsed.ok) return send(res, 400, { error: parsed.problem });
    const { orderId } = parsed.request;
    ledger.recordCall(orderId);
    const f = faults;
    if (f.refuse?.giftIds.includes(parsed.request.giftId) && (f.refuse.release === undefined || req.headers['x-rampart-release'] === f.refuse.release)) {
      return send(res, 422, { error: 'refused' });
    }
    if (f.mode === 'reset') return void req.socket.destroy();
    if (f.mode === 'hang') return;
    if (f.mode === 'hang-first' && !hungOnce.has(orderId)) {
      hungOnce.add(orderId);
      return;
    }
    if (f.mode !== 'answer-after-delay' && f.mode !== 'trickle') await sleep(f.latencyMs);
    if (f.mode === 'reject' || draw(f.rejectRate)) return send(res, 422, { error: 'refused' });
    if (draw(f.errorRate)) {
      ledger.recordFailure(orderId);
      return send(res, 503, { error: 'unavailable' });
    }
    const providerRef = ledger.deliver(orderId);
    if (f.mode === 'trickle') return trickle(res, 200, { status: 'delivered', providerRef }, f.latencyMs || DEFAULT_TRICKLE_BYTE_MS);
    if (f.mode === 'answer-after-delay') await sleep(f.latencyMs);
    send(res, 200, { status: 'delivered', providerRef });
  }

  async function getDelivery(req: IncomingMessage, res: ServerResponse, orderId: string): Promise<void> {
    const f = faults;
    if (f.mode === 'reset') return void req.socket.destroy();
    if (f.mode === 'hang') return;
    if (f.mode !== 'trickle') await sleep(f.latencyMs);
    if (draw(f.errorRate)) return send(res, 503, { error: 'unavailable' });
    const providerRef = ledger.lookup(orderId);
    if (providerRef === undefined) return send(res, 404, { error: 'not found' });
    send(res, 200, { status: 'delivered', providerRef });
  }

  /** Sends the headers at once, then the body one byte every `byteMs` (stops if the client left). */
  async function trickle(res: ServerResponse, status: number, body: unknown, byteMs: number): Promise<void> {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
    res.flushHeaders();
    for (let i = 0; i < bytes.length; i++) {
      if (i > 0) await sleep(byteMs);
      if (res.destroyed) return;
      res.write(bytes.subarray(i, i + 1));
    }
    res.end();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    const method = req.method ?? 'GET';
    if (path === '/deliveries') {
      return method === 'POST' ? postDelivery(req, res) : notAllowed(res, 'POST');
    }
    if (path.startsWith('/deliveries/')) {
      if (method !== 'GET') return notAllowed(res, 'GET');
      const orderId = safeDecode(path.slice('/deliveries/'.length));
      return orderId ? getDelivery(req, res, orderId) : send(res, 404, { error: 'not found' });
    }
    if (path === '/_faults') {
      if (method === 'GET') return send(res, 200, faults);
      if (method === 'DELETE') {
        setFaults(NO_FAULTS);
        return send(res, 200, faults);
      }
      if (method !== 'PUT') return notAllowed(res, 'GET, PUT, DELETE');
      const parsed = parseFaultSettings(await readJson(req, maxBodyBytes));
      if (!parsed.ok) return send(res, 400, { error: parsed.problems.join('; ') });
      setFaults(parsed.settings);
      return send(res, 200, faults);
    }
    if (path === '/_stats') {
      if (method === 'GET') return send(res, 200, ledger.stats());
      if (method !== 'DELETE') return notAllowed(res, 'GET, DELETE');
      ledger.resetStats();
      return send(res, 200, ledger.stats());
    }
    send(res, 404, { error: 'not found' });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof BodyTooLargeError) {
        res.setHeader('Connection', 'close');
        return send(res, 413, { error: `body larger than ${maxBodyBytes} bytes` });
      }
      if (err instanceof SyntaxError) return send(res, 400, { error: 'body is not valid JSON' });
      send(res, 500, { error: 'internal error' });
    });
  });
  // Benchmarks reuse connections; keep idle ones longer than typical client pools do.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7001, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function draw(rate: number): boolean {
  return rate > 0 && Math.random() < rate;
}

function safeDecode(segment: string): string | undefined {
  try {
    const value = decodeURIComponent(segment);
    return value && !value.includes('/') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Reads and parses a JSON body, refusing more than `maxBytes` (BodyTooLargeError) as soon as it shows. */
function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) return reject(new BodyTooLargeError());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        return reject(new BodyTooLargeError());
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  send(res, 405, { error: 'method not allowed' });
}
