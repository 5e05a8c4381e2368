import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-response.js';
import { isOverloadAnswer, markOverloadAnswer } from './overload-answer.js';

/**
 * The gateway's only exception filter: every error (ours, Nest's, Fastify's body parsing, unknown
 * routes) leaves as `{ error: { code, message, requestId, details? } }` with the status of
 * `error-status.ts`. Unexpected errors (500) are logged with the request id; headers (tokens) never are.
 */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(AppErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const response = toErrorResponse(exception, String(request.id));
    if (isOverloadAnswer(exception)) markOverloadAnswer(request);
    if (response.isUnexpected) {
      this.logger.error({
        event: 'request.failed',
        requestId: request.id,
        method: request.method,
        url: request.url,
        status: response.status,
        error: exception instanceof Error ? { name: exception.name, message: exception.message, stack: exception.stack } : String(exception),
      });
    }
    if (reply.sent || reply.raw.headersSent) return;
    if (response.retryAfterS !== undefined) reply.header('retry-after', String(response.retryAfterS));
    reply.status(response.status).type('application/json; charset=utf-8').send(response.body);
  }
}
