import type { ArgumentsHost } from '@nestjs/common';
import { AppError, ErrorCode } from '@app/contracts';
import { permitOutcome } from '../admission/admission.gate.js';
import { AppErrorFilter } from './app-error.filter.js';
import { isOverloadAnswer, markOverloadAnswer, wasOverloadAnswer } from './overload-answer.js';

const serviceAnswer = (overloaded?: true) =>
  AppError.fromWire({ code: ErrorCode.ServiceUnavailable, message: overloaded ? 'instance overloaded; try again' : 'storage is unavailable; try again', retryable: true, ...(overloaded ? { overloaded } : {}) });

describe('overload answers (the load signals of the gateway)', () => {
  it('are exactly the refusals that say so, timeouts and unreachable instances', () => {
    expect(isOverloadAnswer(serviceAnswer(true))).toBe(true);
    expect(isOverloadAnswer(serviceAnswer())).toBe(false); // a dependency of the service is down
    expect(isOverloadAnswer(new AppError(ErrorCode.UpstreamTimeout, 'x'))).toBe(true);
    expect(isOverloadAnswer(new AppError(ErrorCode.UpstreamUnreachable, 'x'))).toBe(true);
    expect(isOverloadAnswer(new AppError(ErrorCode.NotFound, 'x'))).toBe(false);
    expect(isOverloadAnswer(new Error('x'))).toBe(false);
  });

  it('are marked on the request by the error filter, and nothing else is', () => {
    const answer = (exception: unknown) => {
      const request = { id: 'r1', method: 'GET', url: '/api/orders/1' };
      const reply = { sent: false, raw: { headersSent: false }, header: () => reply, status: () => reply, type: () => reply, send: () => reply };
      const host = { switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }) } as unknown as ArgumentsHost;
      new AppErrorFilter().catch(exception, host);
      return wasOverloadAnswer(request);
    };
    expect(answer(serviceAnswer(true))).toBe(true);
    expect(answer(new AppError(ErrorCode.UpstreamTimeout, 'x'))).toBe(true);
    expect(answer(serviceAnswer())).toBe(false);
    expect(answer(new AppError(ErrorCode.BadRequest, 'x'))).toBe(false);
  });

  it('are the drops of the adaptive limit; another 5xx (a dependency of the service down) is no sample at all', () => {
    const marked = () => {
      const request = {};
      markOverloadAnswer(request);
      return request;
    };
    expect(permitOutcome(marked(), 503)).toBe('dropped');
    expect(permitOutcome(marked(), 504)).toBe('dropped');
    expect(permitOutcome({}, 503)).toBe('ignore');
    expect(permitOutcome({}, 500)).toBe('ignore');
    expect(permitOutcome({}, 200)).toBe('ok');
    expect(permitOutcome({}, 404)).toBe('ok');
  });

  it('while the gateway sheds its own load, answers are traffic, not latency, and overload answers still drops (its latency is the gateway\'s own queue then)', () => {
    const marked = {};
    markOverloadAnswer(marked);
    expect(permitOutcome(marked, 503, true)).toBe('dropped');
    expect(permitOutcome({}, 200, true)).toBe('untimed');
    expect(permitOutcome({}, 503, true)).toBe('ignore');
    expect(permitOutcome({}, 200, false)).toBe('ok');
  });
});
