import { HttpException, NotFoundException } from '@nestjs/common';
import { AppError, ErrorCode } from '@app/contracts';
import { toErrorResponse } from './error-response.js';

describe('toErrorResponse', () => {
  it('answers an AppError by its code, with details', () => {
    const details = [{ path: 'gifts[0].dailyLimit', message: 'must not exceed inventory (5)' }];
    const response = toErrorResponse(new AppError(ErrorCode.InvalidConfig, 'invalid configuration', { details }), 'r1');
    expect(response).toEqual({
      status: 422,
      body: { error: { code: 'INVALID_CONFIG', message: 'invalid configuration', requestId: 'r1', details } },
      isUnexpected: false,
    });
  });

  it('hides internal routing codes behind SERVICE_UNAVAILABLE with Retry-After', () => {
    const response = toErrorResponse(new AppError(ErrorCode.UpstreamTimeout, 'delivery did not answer within 3000 ms'), 'r2');
    expect(response.status).toBe(503);
    expect(response.retryAfterS).toBe(1);
    expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('keeps the Retry-After an error carries', () => {
    expect(toErrorResponse(new AppError(ErrorCode.RateLimited, 'slow down', { retryAfterS: 7 }), 'r').retryAfterS).toBe(7);
  });

  it('never shows the message of an internal error', () => {
    const response = toErrorResponse(new AppError(ErrorCode.Internal, 'redis said WRONGTYPE at key rp:x'), 'r');
    expect(response.body.error).toEqual({ code: 'INTERNAL', message: 'internal error', requestId: 'r' });
    expect(response.isUnexpected).toBe(true);
  });

  it('answers an unknown code from a service as a 500', () => {
    const response = toErrorResponse(new AppError('NEW_CODE' as ErrorCode, 'from the future'), 'r');
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe('INTERNAL');
  });

  it('maps framework 4xx exceptions by status', () => {
    expect(toErrorResponse(new NotFoundException('Cannot GET /nope'), 'r').body.error).toEqual({
      code: 'NOT_FOUND',
      message: 'Cannot GET /nope',
      requestId: 'r',
    });
    const unsupported = toErrorResponse(new HttpException('Unsupported Media Type: text/plain', 415), 'r');
    expect(unsupported.status).toBe(415);
    expect(unsupported.body.error.code).toBe('BAD_REQUEST');
  });

  it('turns the failing health checks into details', () => {
    const exception = new HttpException(
      { error: { code: 'SERVICE_UNAVAILABLE', message: 'not ready: redis down', checks: { redis: 'down', query: 'ok' } } },
      503,
    );
    expect(toErrorResponse(exception, 'r').body.error.details).toEqual([
      { path: 'redis', message: 'down' },
      { path: 'query', message: 'ok' },
    ]);
  });

  it('answers anything else as a generic 500', () => {
    for (const thrown of [new TypeError('x is undefined'), 'a string', undefined, new HttpException('boom', 502)]) {
      const response = toErrorResponse(thrown, 'r');
      expect(response.status).toBe(500);
      expect(response.body.error).toEqual({ code: 'INTERNAL', message: 'internal error', requestId: 'r' });
      expect(response.isUnexpected).toBe(true);
    }
  });
});
