import { ErrorCode } from './error-code.js';

/** One violation of a configuration or request: where, and what is wrong. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The only error shape that crosses a transport between Rampart processes. */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** Whether the same call may succeed if repeated (on another instance, or later). */
  retryable: boolean;
  details?: ErrorDetail[];
}

/** What every message handler answers: a value, or a typed error. Never a thrown exception. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: WireError };

export const ok = <T>(value: T): Reply<T> => ({ ok: true, value });
export const fail = (
  code: ErrorCode,
  message: string,
  options: { retryable?: boolean; details?: ErrorDetail[] } = {},
): Reply<never> => ({
  ok: false,
  error: { code, message, retryable: options.retryable ?? false, ...(options.details ? { details: options.details } : {}) },
});
