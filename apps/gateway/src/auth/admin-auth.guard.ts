import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '@app/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { bearerToken } from './bearer-token.js';

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Operator routes: `Authorization: Bearer <ADMIN_TOKEN>`, else 401 UNAUTHORIZED. Compares digests
 * in constant time, so neither the content nor the length of the token leaks through timing.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.expected = sha256(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const token = bearerToken(context.switchToHttp().getRequest<FastifyRequest>());
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'missing bearer token');
    if (!timingSafeEqual(sha256(token), this.expected)) throw new AppError(ErrorCode.Unauthorized, 'invalid admin token');
    return true;
  }
}
