/**
 * Every error code Rampart answers with. Public codes are the contract's; internal ones carry an
 * area prefix and are mapped to a public code at the edge (see apps/gateway/src/errors).
 */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  Unauthorized: 'UNAUTHORIZED',
  NotFound: 'NOT_FOUND',
  InvalidConfig: 'INVALID_CONFIG',
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  NotActive: 'NOT_ACTIVE',
  UserLimitReached: 'USER_LIMIT_REACHED',
  TooManyUncertain: 'TOO_MANY_UNCERTAIN',
  SoldOut: 'SOLD_OUT',
  DailyLimitReached: 'DAILY_LIMIT_REACHED',
  RateLimited: 'RATE_LIMITED',
  /** The target is not in a state that allows the operation (e.g. resolving an order that is not uncertain). */
  Conflict: 'CONFLICT',
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
  Internal: 'INTERNAL',
  /** The call to a service instance did not answer within its timeout class. */
  UpstreamTimeout: 'RES_TIMEOUT',
  /** The connection to a service instance failed (refused, reset, closed). */
  UpstreamUnreachable: 'ROUTE_UPSTREAM_UNREACHABLE',
  /** No instance of a service may be called. */
  NoHealthyEndpoint: 'ROUTE_NO_HEALTHY_ENDPOINT',
  /** The circuit breaker protecting a route or provider is open: the call failed fast, unsent. */
  CircuitOpen: 'RES_CIRCUIT_OPEN',
  /** The bulkhead of a timeout class is full (max concurrent and max queued): rejected at once, unsent. */
  BulkheadFull: 'RES_BULKHEAD_FULL',
  /** A service refused a message without a valid `SERVICE_TOKEN` proof (a misconfigured gateway or a stranger); nothing was done. */
  ServiceAuthFailed: 'AUTH_SERVICE_PROOF',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The claim refusals, in the order the contract reports them when several apply. */
export const ClaimRefusals = [
  ErrorCode.NotActive,
  ErrorCode.UserLimitReached,
  ErrorCode.TooManyUncertain,
  ErrorCode.SoldOut,
  ErrorCode.DailyLimitReached,
] as const;
export type ClaimRefusal = (typeof ClaimRefusals)[number];
