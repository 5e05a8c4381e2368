import { AppError, ErrorCode } from '@app/contracts';

/**
 * The call did not finish within its timeout. It may still have been applied by the callee, so it
 * is retryable only where the call is idempotent (the retry policy decides that, not this flag).
 */
export class TimeoutError extends AppError {
  constructor(
    /** The timeout that elapsed, in ms. */
    readonly timeoutMs: number,
    /** What timed out (a timeout class or route name), for the message. */
    readonly label = 'call',
    options: { cause?: unknown } = {},
  ) {
    super(ErrorCode.UpstreamTimeout, `${label} did not finish within ${timeoutMs} ms`, { retryable: true, ...options });
  }
}
