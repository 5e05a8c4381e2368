#!/usr/bin/env node
// Does a PostgreSQL answer at a postgres:// URL, and does it let this URL's user in?
// A dependency-free probe (a StartupMessage over TCP, protocol 3.0), so that `npm start` and `.ci/run`
// can ask before any PostgreSQL client library is installed or loaded. It never sends a password:
// a server that asks for one "answers" only when the URL carries one (the apps will log in with it).
//   node scripts/lib/pg-probe.mjs [url]   exit 0 when usable, 1 when not (the reason on stderr)
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** `{ host, port, user, database, hasPassword }` of a postgres:// or postgresql:// URL; throws on anything else. */
export function parseDatabaseUrl(url) {
  if (!URL.canParse(url)) throw new Error(`DATABASE_URL must be a postgres:// URL (got "${url}")`);
  const parsed = new URL(url);
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error(`DATABASE_URL must be a postgres:// URL (got "${parsed.protocol}//…")`);
  const port = Number(parsed.port || 5432);
  const user = decodeURIComponent(parsed.username || 'postgres');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user;
  return { host: parsed.hostname || '127.0.0.1', port, user, database, hasPassword: parsed.password !== '' };
}

export function isLocalDatabase(url) {
  return LOCAL_HOSTS.has(new URL(url).hostname);
}

/** The URL with its password replaced by `***`, for printing. */
export function redactDatabaseUrl(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** The same URL on another port (how `npm start` points the apps at the embedded server it started). */
export function withPort(url, port) {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

/**
 * Resolves `{ ok: true, server }` when a PostgreSQL at `url` accepts its user (trust, or asks for the
 * password the URL carries), else `{ ok: false, answers, reason }`: `answers` says whether something
 * speaking the protocol is there at all (a refusal such as an unknown database still answers).
 */
export function probePostgres(url, timeoutMs = 1_000) {
  const { host, port, user, database, hasPassword } = parseDatabaseUrl(url);
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    let isPostgres = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result.ok) socket.end(terminateMessage());
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, answers: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => socket.write(startupMessage({ user, database, application_name: 'rampart-probe' })));
    socket.on('error', (err) => done({ ok: false, answers: false, reason: err.code ?? err.message }));
    socket.on('close', () => done({ ok: false, answers: false, reason: 'connection closed before an answer' }));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 5) {
        const type = String.fromCharCode(buffer[0]);
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const body = buffer.subarray(5, 1 + length);
        buffer = buffer.subarray(1 + length);
        if (type === 'E') return done({ ok: false, answers: true, reason: errorText(body) });
        if (type === 'Z') return done({ ok: true, server: 'trusts this user' }); // ReadyForQuery: we are in
        if (type === 'R') {
          isPostgres = true;
          const auth = body.readInt32BE(0);
          if (auth === 0) continue; // AuthenticationOk; parameters, the key data and ReadyForQuery follow
          if (hasPassword) return done({ ok: true, server: 'asks for a password' });
          return done({ ok: false, answers: true, reason: `it asks user "${user}" for a password (authentication request ${auth}) and the URL has none` });
        }
        if (!isPostgres) return done({ ok: false, answers: false, reason: `not a PostgreSQL answer (message "${type}")` });
        // 'S' parameter status, 'K' backend key data, 'N' notice: read on
      }
    });
  });
}

function startupMessage(params) {
  const pairs = Object.entries(params).flatMap(([k, v]) => [k, v]);
  const payload = Buffer.from(`${pairs.join('\0')}\0\0`, 'utf8');
  const message = Buffer.alloc(8 + payload.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(196_608, 4); // protocol 3.0
  payload.copy(message, 8);
  return message;
}

function terminateMessage() {
  return Buffer.from([0x58, 0, 0, 0, 4]); // 'X'
}

/** The `M` (message) field of an ErrorResponse. */
function errorText(body) {
  for (const field of body.toString('utf8').split('\0')) if (field.startsWith('M')) return field.slice(1);
  return 'refused';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] || process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const result = await probePostgres(url, 2_000);
  if (!result.ok) console.error(`PostgreSQL at ${redactDatabaseUrl(url)}: ${result.reason}`);
  process.exit(result.ok ? 0 : 1);
}
