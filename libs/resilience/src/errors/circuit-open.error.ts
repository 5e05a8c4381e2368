import { AppError, ErrorCode } from '@app/contracts';

/** The breaker of `target` is open: the call failed fast and was never sent. Not retried here. */
export class CircuitOpenError extends AppError {
  constructor(
    /** Name of the protected route or provider. */
    readonly target: string,
    options: { retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(ErrorCode.CircuitOpen, `Circuit for "${target}" is open; failing fast`, { retryable: false, ...options });
  }
}
