import { AppError, ErrorCode } from '@app/contracts';

/** No instance of a service may be called (all excluded or none configured). Not retryable. */
export class NoHealthyEndpointError extends AppError {
  constructor(
    /** The service or endpoint group that has no instance left, for messages and logs. */
    readonly target: string,
  ) {
    super(ErrorCode.NoHealthyEndpoint, `no healthy instance of ${target}`, { retryable: false });
  }
}
