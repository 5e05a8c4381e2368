import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '@app/contracts';

/** What an `X-Actor` header (the operator's name, for the audit log) must look like. */
export const ACTOR_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * The audit log's actor for an `X-Actor` header value: `admin:<X-Actor>` when the caller names
 * itself, `admin` when it does not. A header that is present but malformed is a 400: an operator
 * who meant to sign a change must not be recorded as anonymous.
 */
export function actorOf(header: string | string[] | undefined): string {
  if (header === undefined) return 'admin';
  if (typeof header !== 'string' || !ACTOR_PATTERN.test(header)) {
    throw new AppError(ErrorCode.BadRequest, 'X-Actor must be 1-64 characters of [A-Za-z0-9_.@-]', {
      details: [{ path: 'headers.x-actor', message: 'must be 1-64 characters of [A-Za-z0-9_.@-]' }],
    });
  }
  return `admin:${header}`;
}

/**
 * Who makes an operator change, for the audit log (see `actorOf`). The admin token is shared, so
 * the name is a label, not an identity.
 */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  actorOf(context.switchToHttp().getRequest<FastifyRequest>().headers['x-actor']),
);
