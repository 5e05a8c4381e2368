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

/** Verified tokens remembered (a user sends the same token with every request until it expires). */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * User routes: `Authorization: Bearer <JWT>`, HS256 with `JWT_SECRET`, `exp` honoured, `sub` an id.
 * Anything else is 401 UNAUTHORIZED; the reason is in the message, the token never is.
 *
 * The key is imported once, and a verified token is remembered (bounded, until its `exp`), so a
 * repeat costs a Map lookup instead of an HMAC through WebCrypto: verification was the gateway's
 * largest per-request cost (see bench/README.md).
 */
@Injectable()
export class UserAuthGuard implements CanActivate {
  private readonly key: Promise<CryptoKey>;
  private readonly verified = new Map<string, { sub: string; expMs: number }>();

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(config.jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
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
      // `exp` is required (contract section 2): a token without one would be valid forever.
      ({ payload } = await jwtVerify(token, await this.key, { algorithms: ['HS256'], requiredClaims: ['exp'] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthorized('token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp') throw unauthorized('token has no exp');
      throw unauthorized('invalid token');
    }
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) throw unauthorized('token has no valid sub');
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
