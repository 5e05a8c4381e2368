import { ErrorCode } from '@app/contracts';

/** How one error code is answered over HTTP. */
export interface ErrorStatus {
  /** HTTP status. */
  status: number;
  /** Code shown to clients, when the internal code must not leak. Default: the code itself. */
  publicCode?: ErrorCode;
  /** `Retry-After` in seconds, unless the error carries its own. Default none. */
  retryAfterS?: number;
}

const unavailable: ErrorStatus = { status: 503, publicCode: ErrorCode.ServiceUnavailable, retryAfterS: 1 };

/**
 * Every error code and its HTTP answer. Typed as a full record, so a new code does not compile
 * until it is mapped here (and `error-status.spec.ts` checks the same at run time).
 */
export const ERROR_STATUS: Readonly<Record<ErrorCode, ErrorStatus>> = Object.freeze({
  [ErrorCode.BadRequest]: { status: 400 },
  [ErrorCode.PayloadTooLarge]: { status: 413 },
  [ErrorCode.Unauthorized]: { status: 401 },
  [ErrorCode.NotFound]: { status: 404 },
  [ErrorCode.InvalidConfig]: { status: 422 },
  [ErrorCode.IdempotencyKeyReused]: { status: 422 },
  [ErrorCode.NotActive]: { status: 409 },
  [ErrorCode.UserLimitReached]: { status: 409 },
  [ErrorCode.SoldOut]: { status: 409 },
  [ErrorCode.DailyLimitReached]: { status: 409 },
  [ErrorCode.TooManyUncertain]: { status: 429 },
  [ErrorCode.RateLimited]: { status: 429, retryAfterS: 1 },
  [ErrorCode.Conflict]: { status: 409 },
  [ErrorCode.ServiceUnavailable]: { status: 503, retryAfterS: 1 },
  [ErrorCode.Internal]: { status: 500 },
  // A call that timed out may still have been applied; repeating it (same idempotency key) is safe.
  [ErrorCode.UpstreamTimeout]: unavailable,
  [ErrorCode.UpstreamUnreachable]: unavailable,
  [ErrorCode.NoHealthyEndpoint]: unavailable,
  // Both fail fast without sending; the error's own retryAfterS (if any) wins over this 1 s.
  [ErrorCode.CircuitOpen]: unavailable,
  [ErrorCode.BulkheadFull]: unavailable,
  // This gateway's SERVICE_TOKEN is not the services': nothing was done; an operator must fix it.
  [ErrorCode.ServiceAuthFailed]: unavailable,
});

/** The HTTP answer of `code`; an unknown code (e.g. from a newer service) is a 500. */
export function errorStatusOf(code: string): ErrorStatus {
  return Object.hasOwn(ERROR_STATUS, code) ? ERROR_STATUS[code as ErrorCode] : ERROR_STATUS[ErrorCode.Internal];
}

/**
 * Public code of a framework 4xx that carries no AppError (a Fastify body error, Nest's 404 for an
 * unknown route): the status stays the framework's (e.g. 415), the code is the nearest public one.
 */
export function publicCodeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return ErrorCode.Unauthorized;
    case 404:
      return ErrorCode.NotFound;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 429:
      return ErrorCode.RateLimited;
    case 503:
      return ErrorCode.ServiceUnavailable;
    default:
      return status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest;
  }
}
