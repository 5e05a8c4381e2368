import { HttpException } from '@nestjs/common';
import { ErrorCode, isAppError, type ErrorDetail } from '@app/contracts';
import { isStorageUnavailable } from '@app/platform';
import { errorStatusOf, publicCodeOfStatus } from './error-status.js';

/** The one error body of the API (contract: every error response has this shape). */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: ErrorDetail[] };
}

/** What the filter sends: status, optional `Retry-After`, body. `isUnexpected` asks for a log line. */
export interface ErrorResponse {
  status: number;
  retryAfterS?: number;
  body: ErrorBody;
  isUnexpected: boolean;
}

const GENERIC_INTERNAL = 'internal error';

/**
 * Turns anything thrown while serving a request into the API's error response: an AppError by its
 * code, a framework HttpException (Fastify body errors, Nest's unknown-route 404) by its status,
 * Redis being unreachable or full as 503, anything else as a 500 with a generic message (the real one is only logged).
 */
export function toErrorResponse(exception: unknown, requestId: string): ErrorResponse {
  if (isAppError(exception)) {
    const mapping = errorStatusOf(exception.code);
    const code = mapping.publicCode ?? (mapping.status === 500 ? ErrorCode.Internal : exception.code);
    const message = mapping.status === 500 ? GENERIC_INTERNAL : exception.message;
    return build(mapping.status, code, message, requestId, exception.details, exception.retryAfterS ?? mapping.retryAfterS);
  }
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    const status = exception.getStatus();
    return build(status, publicCodeOfStatus(status), messageOf(exception), requestId);
  }
  if (exception instanceof HttpException && exception.getStatus() === 503) {
    const { message, details } = serviceUnavailableOf(exception);
    return build(503, ErrorCode.ServiceUnavailable, message, requestId, details, 1);
  }
  // The gateway's own Redis work (flags, audit, rate limits): down or full is a retryable 503.
  if (isStorageUnavailable(exception)) return build(503, ErrorCode.ServiceUnavailable, 'storage is unavailable; try again', requestId, undefined, 1);
  return build(500, ErrorCode.Internal, GENERIC_INTERNAL, requestId);
}

function build(
  status: number,
  code: string,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
  retryAfterS?: number,
): ErrorResponse {
  return {
    status,
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    body: { error: { code, message, requestId, ...(details?.length ? { details } : {}) } },
    // 503s are expected states (logged where they change, by the upstream clients); 500s are bugs.
    isUnexpected: status === 500,
  };
}

/** The message of a framework 4xx: Nest's own message string, else the status text. */
function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

/**
 * A 503 from `HealthController` carries `{ error: { message, checks } }`; the checks become
 * `details` so the body keeps the one error shape.
 */
function serviceUnavailableOf(exception: HttpException): { message: string; details?: ErrorDetail[] } {
  const error = (exception.getResponse() as { error?: { message?: unknown; checks?: unknown } }).error;
  const message = typeof error?.message === 'string' ? error.message : 'service unavailable';
  const checks = error?.checks && typeof error.checks === 'object' ? Object.entries(error.checks) : [];
  return { message, details: checks.map(([path, result]) => ({ path, message: String(result) })) };
}
