import { ErrorCode } from './error-code.js';
import type { ErrorDetail, WireError } from './wire-error.js';

/** Base of every typed Rampart error; the gateway's filter maps `code` to an HTTP status. */
export class AppError extends Error {
  readonly isAppError = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { retryable?: boolean; details?: ErrorDetail[]; retryAfterS?: number; cause?: unknown; overloaded?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  get retryable(): boolean {
    return this.options.retryable ?? false;
  }

  get details(): ErrorDetail[] | undefined {
    return this.options.details;
  }

  /** The service that answered refused because it is overloaded (see `WireError.overloaded`). */
  get overloaded(): boolean {
    return this.options.overloaded ?? false;
  }

  /** Seconds a client should wait before trying again (sent as `Retry-After`), if any. */
  get retryAfterS(): number | undefined {
    return this.options.retryAfterS;
  }

  static fromWire(error: WireError): AppError {
    return new AppError(error.code, error.message, { retryable: error.retryable, details: error.details, overloaded: error.overloaded === true });
  }
}

export function isAppError(value: unknown): value is AppError {
  return typeof value === 'object' && value !== null && (value as { isAppError?: unknown }).isAppError === true;
}
