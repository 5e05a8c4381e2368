import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createVerifier, TokenError } from 'fast-jwt';
import { AppError, ErrorCode, ID_PATTERN } from '@app/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';
import { bearerToken } from './bearer-token.js';

/** A request that passed {@link UserAuthGuard}: `userId` is the token's `sub`. */
export interface UserRequest extends FastifyRequest {
  userId?: string;
}

/** Verified tokens remembered (a user sends the same token with every request until it expires). */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * User routes: `Authorization: Bearer <JWT>`, HS256 with `JWT_SECRET`, `exp` honoured, `sub` an id.
 * Anything else is 401 UNAUTHORIZED; the reason is in the message, the token never is.
 *
 * Verified with fast-jwt, synchronously on `node:crypto` (jose's HMAC goes through WebCrypto, a job on
 * libuv's thread pool and a promise: about 3x the CPU, and the gateway's largest per-claim cost when
 * users do not repeat; see bench/README.md). A verified token is remembered (bounded, until its `exp`),
 * so a repeat costs a Map lookup.
 */
@Injectable()
export class UserAuthGuard implements CanActivate {
  private readonly verify: (token: string) => { sub?: unknown; exp?: unknown };
  private readonly verified = new Map<string, { sub: string; expMs: number }>();

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    // `exp` is required (contract section 2): a token without one would be valid forever.
    this.verify = createVerifier({ key: config.jwtSecret, algorithms: ['HS256'], requiredClaims: ['exp'] });
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<UserRequest>();
    const token = bearerToken(request);
    if (!token) throw unauthorized('missing bearer token');
    const known = this.verified.get(token);
    if (known && known.expMs > Date.now()) {
      request.userId = known.sub;
      return true;
    }
    let payload: { sub?: unknown; exp?: unknown };
    try {
      payload = this.verify(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw unauthorized('token expired');
      if (err instanceof TokenError && err.code === TokenError.codes.missingRequiredClaim) throw unauthorized('token has no exp');
      throw unauthorized('invalid token');
    }
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) throw unauthorized('token has no valid sub');
    if (typeof exp !== 'number') throw unauthorized('token has no exp');
    this.remember(token, sub, (exp as number) * 1000);
    request.userId = sub;
    return true;
  }

  private remember(token: string, sub: string, expMs: number): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Drop the oldest entry (Map keeps insertion order): O(1), bounded memory.
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, { sub, expMs });
  }
}

function unauthorized(message: string): AppError {
  return new AppError(ErrorCode.Unauthorized, message);
}
