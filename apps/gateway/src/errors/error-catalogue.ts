import { ErrorCode } from '@app/contracts';
import { ERROR_STATUS } from './error-status.js';

/** What a client should do after an error. */
export type RetryAdvice =
  /** Do not repeat the same request: it will get the same answer until something else changes. */
  | 'no'
  /** Repeat later (after `Retry-After` when sent); a claim repeated with the same Idempotency-Key is safe. */
  | 'yes'
  /** Fix the request (or the token) first, then send it again. */
  | 'after fixing';

/** The catalogue entry of one code: what it means to a client. The status comes from ERROR_STATUS. */
export interface ErrorCatalogueEntry {
  /** One or two sentences for a client developer. */
  meaning: string;
  retry: RetryAdvice;
}

/**
 * Every error code with its meaning and retry advice: the source of `docs/errors.md` and of the
 * OpenAPI document's error descriptions. Typed as a full record, so a new code does not compile
 * until it has an entry; `error-catalogue.spec.ts` keeps `docs/errors.md` equal to `renderErrorCatalogue()`.
 */
export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorCatalogueEntry>> = Object.freeze({
  [ErrorCode.BadRequest]: {
    meaning: 'The request is malformed: invalid JSON, an unknown or invalid field, query parameter or header (e.g. a missing Idempotency-Key, a malformed X-Actor, a cursor of another listing). `details` lists each problem with its path.',
    retry: 'after fixing',
  },
  [ErrorCode.PayloadTooLarge]: { meaning: 'The body is larger than the gateway accepts (`BODY_LIMIT_BYTES`).', retry: 'after fixing' },
  [ErrorCode.Unauthorized]: {
    meaning: 'No valid credentials: the bearer token (user JWT or admin token) or the event-stream ticket is missing, malformed, expired or wrongly signed.',
    retry: 'after fixing',
  },
  [ErrorCode.NotFound]: { meaning: 'The resource does not exist, or belongs to another user (another user\'s order is answered as if it did not exist).', retry: 'no' },
  [ErrorCode.InvalidConfig]: { meaning: 'An activity configuration breaks a rule; `details` lists every violation with its path.', retry: 'after fixing' },
  [ErrorCode.IdempotencyKeyReused]: {
    meaning: 'The Idempotency-Key (order number) already belongs to an order for another gift or another user. Use a new key for a new order.',
    retry: 'no',
  },
  [ErrorCode.NotActive]: { meaning: 'The activity is not running now (before its start, after its end) or the gift is paused. No reservation was made.', retry: 'no' },
  [ErrorCode.UserLimitReached]: { meaning: 'The user already holds as many units of this gift as `perUserLimit` allows. No reservation was made.', retry: 'no' },
  [ErrorCode.TooManyUncertain]: {
    meaning: 'The user has too many orders of this gift whose delivery outcome is unknown (`UNCERTAIN_LIMIT`) at a provider without order numbers; an operator must resolve them first.',
    retry: 'no',
  },
  [ErrorCode.SoldOut]: { meaning: 'The gift has no inventory left. No reservation was made.', retry: 'no' },
  [ErrorCode.DailyLimitReached]: { meaning: 'Today\'s share of the gift (`dailyLimit`, UTC day) is used up. No reservation was made.', retry: 'no' },
  [ErrorCode.RateLimited]: {
    meaning: 'The user sent new claims faster than allowed. Repeats of a key already seen are never counted.',
    retry: 'yes',
  },
  [ErrorCode.Conflict]: {
    meaning: 'The target is not in a state that allows the operation, e.g. resolving an order that is not `uncertain` (another operator won) or retrying one that is not `failed`.',
    retry: 'no',
  },
  [ErrorCode.ServiceUnavailable]: {
    meaning: 'The request could not be served now: no healthy service instance, load shed, a timeout, an open circuit, a full bulkhead, storage unavailable, or (a claim of a gift split over buckets) stock being moved to the user\'s share. A claim may have been applied: repeat it with the same Idempotency-Key.',
    retry: 'yes',
  },
  [ErrorCode.Internal]: { meaning: 'An unexpected error (a bug); the message is generic and the details are in the gateway\'s log under the requestId.', retry: 'no' },
  [ErrorCode.UpstreamTimeout]: { meaning: 'Internal: a service instance did not answer in time. Sent to clients as SERVICE_UNAVAILABLE.', retry: 'yes' },
  [ErrorCode.UpstreamUnreachable]: { meaning: 'Internal: the connection to a service instance failed. Sent to clients as SERVICE_UNAVAILABLE.', retry: 'yes' },
  [ErrorCode.NoHealthyEndpoint]: { meaning: 'Internal: no instance of a service may be called. Sent to clients as SERVICE_UNAVAILABLE.', retry: 'yes' },
  [ErrorCode.CircuitOpen]: { meaning: 'Internal: the circuit breaker of the route is open; the call failed fast, unsent. Sent to clients as SERVICE_UNAVAILABLE.', retry: 'yes' },
  [ErrorCode.BulkheadFull]: { meaning: 'Internal: the bulkhead of the timeout class is full; rejected unsent. Sent to clients as SERVICE_UNAVAILABLE.', retry: 'yes' },
  [ErrorCode.ServiceAuthFailed]: {
    meaning: 'Internal: a service refused the gateway\'s SERVICE_TOKEN proof (misconfiguration; nothing was done). Sent to clients as SERVICE_UNAVAILABLE.',
    retry: 'yes',
  },
});

/** A code as a client sees it: its public code, HTTP status and whether `Retry-After` is sent. */
export interface PublicError {
  code: ErrorCode;
  status: number;
  /** The code sent in the body (an internal code is sent as its public one). */
  publicCode: ErrorCode;
  isRetryAfterSent: boolean;
}

/** Status, public code and Retry-After of `code`, from ERROR_STATUS. */
export function publicErrorOf(code: ErrorCode): PublicError {
  const mapping = ERROR_STATUS[code];
  // RATE_LIMITED and SERVICE_UNAVAILABLE carry a Retry-After of their own or the mapping's default.
  return { code, status: mapping.status, publicCode: mapping.publicCode ?? code, isRetryAfterSent: mapping.retryAfterS !== undefined };
}

/** The codes clients receive in `error.code` (internal codes are mapped to one of these). */
export const PUBLIC_ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode).filter((code) => !ERROR_STATUS[code].publicCode);

const cell = (text: string) => text.replaceAll('|', '\\|');

/** `docs/errors.md`, rendered from ERROR_CATALOGUE and ERROR_STATUS. */
export function renderErrorCatalogue(): string {
  const row = (code: ErrorCode) => {
    const e = publicErrorOf(code);
    const entry = ERROR_CATALOGUE[code];
    return `| \`${code}\` | ${e.status} | ${cell(entry.meaning)} | ${entry.retry} | ${e.isRetryAfterSent ? 'yes' : 'no'} |`;
  };
  const internal = Object.values(ErrorCode).filter((code) => ERROR_STATUS[code].publicCode);
  return [
    '# Rampart API error codes',
    '',
    '<!-- Generated from apps/gateway/src/errors/error-catalogue.ts and error-status.ts by `npm run docs:api`; error-catalogue.spec.ts fails when this file is out of date. -->',
    '',
    'Every error response has one shape: `{ "error": { "code", "message", "requestId", "details"? } }`.',
    'Branch on `code` (never on `message`); quote `requestId` (also in the `X-Request-Id` header) when reporting a problem.',
    '`details` (`[ { "path", "message" } ]`) lists each problem of a 400 or 422.',
    '',
    'Retry: **no** — the same request gets the same answer; **yes** — repeat later, after `Retry-After` seconds',
    'when that header is sent (a claim repeated with the same `Idempotency-Key` is safe: one key makes at most one order);',
    '**after fixing** — change the request or the credentials first.',
    '',
    '| code | status | meaning | retry | Retry-After |',
    '| --- | --- | --- | --- | --- |',
    ...PUBLIC_ERROR_CODES.map(row),
    '',
    '## Internal codes',
    '',
    'These appear in logs and metrics, never in a response: the gateway answers them as `SERVICE_UNAVAILABLE`.',
    '',
    '| code | status | meaning | retry | Retry-After |',
    '| --- | --- | --- | --- | --- |',
    ...internal.map(row),
    '',
  ].join('\n');
}
