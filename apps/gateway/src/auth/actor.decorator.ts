import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** What an `X-Actor` header (the operator's name, for the audit log) must look like. */
const ACTOR_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Who makes an operator change, for the audit log: `admin:<X-Actor>` when the caller names
 * itself, else `admin`. The admin token is shared, so the name is a label, not an identity.
 */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const header = context.switchToHttp().getRequest<FastifyRequest>().headers['x-actor'];
  return typeof header === 'string' && ACTOR_PATTERN.test(header) ? `admin:${header}` : 'admin';
});
