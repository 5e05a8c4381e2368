import { ErrorCode, isAppError } from '@app/contracts';

/** Whether `err` is a {@link CircuitOpenError} (by code, so it also holds across realms and the wire). */
export const isCircuitOpen = (err: unknown): boolean => isAppError(err) && err.code === ErrorCode.CircuitOpen;

/** Whether `err` is a {@link BulkheadFullError}. */
export const isBulkheadFull = (err: unknown): boolean => isAppError(err) && err.code === ErrorCode.BulkheadFull;

/** Whether `err` is a timeout (ours, or an upstream's RES_TIMEOUT). */
export const isTimeout = (err: unknown): boolean => isAppError(err) && err.code === ErrorCode.UpstreamTimeout;

/** Whether `err` is an abort caused by the caller's own signal (a DOMException `AbortError`). */
export const isAbort = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';

/** Codes that say "the target failed", as opposed to "the target answered no". */
const FAILURE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.UpstreamTimeout,
  ErrorCode.UpstreamUnreachable,
  ErrorCode.NoHealthyEndpoint,
  ErrorCode.Internal,
  ErrorCode.ServiceUnavailable,
]);

/**
 * Default rule for what a breaker counts as a failure: timeouts, transport errors, no healthy
 * instance, and 5xx-like INTERNAL / SERVICE_UNAVAILABLE, plus any non-AppError (an unmapped
 * library or socket error). Business answers (SOLD_OUT, NOT_FOUND, ...) are successes: the target
 * answered. Local rejections (circuit open, bulkhead full) and the caller's own abort count as
 * neither, because the target never saw them.
 */
export function countsAsFailure(err: unknown): boolean {
  if (isAppError(err)) return FAILURE_CODES.has(err.code);
  return !isAbort(err);
}

/**
 * Whether `err` means "the target could not answer" (anything {@link countsAsFailure}, plus an
 * open circuit or a full bulkhead): the errors a read may answer from a fallback (stale value).
 */
export function isUnavailable(err: unknown): boolean {
  return isCircuitOpen(err) || isBulkheadFull(err) || (countsAsFailure(err) && !isAbort(err));
}
