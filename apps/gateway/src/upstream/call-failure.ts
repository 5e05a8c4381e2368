import { types } from 'node:util';
import { TimeoutError } from 'rxjs';
import { AppError, ErrorCode } from '@app/contracts';
import type { CallOutcome } from '@app/routing';

/** A failed call to one instance: what the router records and what the caller sees. */
export interface CallFailure {
  outcome: CallOutcome;
  error: AppError;
  /** The connection was refused, so the request never left: safe to send to another instance. */
  isConnectRefused: boolean;
}

/**
 * The one place where what a ClientProxy throws becomes a typed error:
 * - rxjs `TimeoutError` (the instance did not answer in time): RES_TIMEOUT;
 * - an `Error` from the socket (ECONNREFUSED, ECONNRESET, EPIPE, "Connection closed" when the
 *   socket closed with the call in flight): ROUTE_UPSTREAM_UNREACHABLE;
 * - anything else is the server's own error packet (a handler that threw instead of answering a
 *   `Reply`), or no answer at all: INTERNAL.
 * Messages name the service, never an address (they reach clients); the cause keeps the details.
 */
export function classifyFailure(err: unknown, service: string, timeoutMs: number): CallFailure {
  if (err instanceof TimeoutError) {
    return {
      outcome: 'timeout',
      error: new AppError(ErrorCode.UpstreamTimeout, `${service} service did not answer within ${timeoutMs} ms`, { retryable: true, cause: err }),
      isConnectRefused: false,
    };
  }
  // isNativeError, not instanceof: socket errors may come from another realm (e.g. under Jest).
  if (types.isNativeError(err) && err.name !== 'EmptyError') {
    return {
      outcome: 'transport',
      error: new AppError(ErrorCode.UpstreamUnreachable, `${service} service is unreachable`, { retryable: true, cause: err }),
      isConnectRefused: (err as NodeJS.ErrnoException).code === 'ECONNREFUSED',
    };
  }
  return { outcome: 'server-error', error: serverError(service, err), isConnectRefused: false };
}

/** An instance answered something that is not a `Reply`, or failed inside its handler. */
export function serverError(service: string, cause: unknown): AppError {
  return new AppError(ErrorCode.Internal, `${service} service failed to handle the call`, { cause });
}
