import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { AppError, ErrorCode } from '@app/contracts';
import type { UserRequest } from './user-auth.guard.js';

/** The authenticated user's id; only on routes behind {@link UserAuthGuard}. */
export const UserId = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const userId = context.switchToHttp().getRequest<UserRequest>().userId;
  if (!userId) throw new AppError(ErrorCode.Unauthorized, 'not authenticated');
  return userId;
});
