import { AppError, ErrorCode } from '@app/contracts';

/** Every slot and queue place of a bulkhead is taken: rejected at once, never sent. */
export class BulkheadFullError extends AppError {
  constructor(
    /** Name of the bulkhead (the timeout class, e.g. `slow`). */
    readonly bulkhead: string,
    options: { retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(ErrorCode.BulkheadFull, `Bulkhead "${bulkhead}" is full; try again later`, { retryable: false, ...options });
  }
}
