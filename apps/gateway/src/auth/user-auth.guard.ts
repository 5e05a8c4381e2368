import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify } from 'jose';
import { AppError, ErrorCode, ID_PATTERN } from '@app/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { bearerToken } from './bearer-token.js';

/** A request that passed {@link UserAuthGuard}: `userId` is the token's `sub`. */
export interface UserRequest extends FastifyRequest {
  userId?: string;
}

/**
 * User routes: `Authorization: Bearer <JWT>`, HS256 with `JWT_SECRET`, `exp` honoured, `sub` an id.
 * Anything else is 401 UNAUTHORIZED; the reason is in the message, the token never is.
 */
@Injectable()
export class UserAuthGuard implements CanActivate {
  private readonly key: Uint8Array;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.key = new TextEncoder().encode(config.jwtSecret);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<UserRequest>();
    const token = bearerToken(request);
    if (!token) throw unauthorized('missing bearer token');
    let sub: unknown;
    try {
      ({ payload: { sub } } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (err) {
      throw unauthorized(err instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token');
    }
    if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) throw unauthorized('token has no valid sub');
    request.userId = sub;
    return true;
  }
}

function unauthorized(message: string): AppError {
  return new AppError(ErrorCode.Unauthorized, message);
}
