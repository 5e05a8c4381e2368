import { ErrorCode } from '@app/contracts';
import { ERROR_STATUS, errorStatusOf, publicCodeOfStatus } from './error-status.js';

const publicCodes = new Set<string>([
  'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNAUTHORIZED', 'NOT_FOUND', 'INVALID_CONFIG', 'IDEMPOTENCY_KEY_REUSED',
  'NOT_ACTIVE', 'USER_LIMIT_REACHED', 'TOO_MANY_UNCERTAIN', 'SOLD_OUT', 'DAILY_LIMIT_REACHED', 'RATE_LIMITED',
  'SERVICE_UNAVAILABLE', 'INTERNAL', 'CONFLICT',
]);

describe('ERROR_STATUS', () => {
  it.each(Object.values(ErrorCode))('maps %s to an HTTP status and a public code', (code) => {
    const mapping = ERROR_STATUS[code];
    expect(mapping).toBeDefined();
    expect(mapping.status).toBeGreaterThanOrEqual(400);
    expect(mapping.status).toBeLessThan(600);
    expect(publicCodes.has(mapping.publicCode ?? code)).toBe(true);
  });

  it('has no mapping for a code that does not exist', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it.each([
    [ErrorCode.BadRequest, 400], [ErrorCode.PayloadTooLarge, 413], [ErrorCode.Unauthorized, 401],
    [ErrorCode.NotFound, 404], [ErrorCode.InvalidConfig, 422], [ErrorCode.IdempotencyKeyReused, 422],
    [ErrorCode.NotActive, 409], [ErrorCode.UserLimitReached, 409], [ErrorCode.SoldOut, 409],
    [ErrorCode.DailyLimitReached, 409], [ErrorCode.TooManyUncertain, 429], [ErrorCode.RateLimited, 429],
    [ErrorCode.ServiceUnavailable, 503], [ErrorCode.Internal, 500], [ErrorCode.Conflict, 409],
  ])('answers %s with %d', (code, status) => {
    expect(ERROR_STATUS[code].status).toBe(status);
  });

  it.each([
    ErrorCode.UpstreamTimeout, ErrorCode.UpstreamUnreachable, ErrorCode.NoHealthyEndpoint, ErrorCode.CircuitOpen, ErrorCode.BulkheadFull,
  ])(
    'hides %s behind a 503 SERVICE_UNAVAILABLE with Retry-After',
    (code) => {
      expect(ERROR_STATUS[code]).toEqual({ status: 503, publicCode: 'SERVICE_UNAVAILABLE', retryAfterS: 1 });
    },
  );

  it('answers an unknown code as a 500', () => {
    expect(errorStatusOf('SOMETHING_NEW').status).toBe(500);
    expect(errorStatusOf('toString').status).toBe(500);
  });

  it.each([
    [400, 'BAD_REQUEST'], [401, 'UNAUTHORIZED'], [404, 'NOT_FOUND'], [405, 'BAD_REQUEST'],
    [413, 'PAYLOAD_TOO_LARGE'], [415, 'BAD_REQUEST'], [429, 'RATE_LIMITED'], [503, 'SERVICE_UNAVAILABLE'], [500, 'INTERNAL'],
  ])('names a framework %d %s', (status, code) => {
    expect(publicCodeOfStatus(status)).toBe(code);
  });
});
