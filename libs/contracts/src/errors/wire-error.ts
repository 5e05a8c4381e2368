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
  /**
   * The service refused the message because it is overloaded (its admission door was full, or the
   * caller's deadline had passed in its queue): the signal a caller's client-side throttling counts.
   * Absent on other refusals, such as a dependency that cannot be reached (PostgreSQL or Redis down),
   * which say nothing about the service's load.
   */
  overloaded?: true;
}

/** What every message handler answers: a value, or a typed error. Never a thrown exception. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: WireError };

export const ok = <T>(value: T): Reply<T> => ({ ok: true, value });
export const fail = (
  code: ErrorCode,
  message: string,
  options: { retryable?: boolean; details?: ErrorDetail[]; overloaded?: true } = {},
): Reply<never> => ({
  ok: false,
  error: {
    code, message, retryable: options.retryable ?? false,
    ...(options.details ? { details: options.details } : {}),
    ...(options.overloaded ? { overloaded: true as const } : {}),
  },
});
