import { createHmac, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { AppError, ErrorCode } from '@app/contracts';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

/** The one purpose a ticket serves (its audience). */
const AUDIENCE = 'rampart:order-events';

/**
 * Tickets for browsers' `EventSource`, which cannot send an `Authorization` header: a short-lived
 * HS256 token for one order, one user and one purpose (`GET /api/orders/{orderId}/events?ticket=`).
 * Stateless. It is signed with a key derived from JWT_SECRET for this purpose alone, so a ticket is
 * never accepted as a user token, and a user token never as a ticket.
 */
@Injectable()
export class EventTickets {
  private readonly sign: (payload: Record<string, unknown>) => string;
  private readonly verify: (ticket: string) => { sub?: unknown; oid?: unknown };

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    const key = createHmac('sha256', config.jwtSecret).update('rampart order event tickets').digest();
    this.sign = createSigner({ key, algorithm: 'HS256' });
    this.verify = createVerifier({ key, algorithms: ['HS256'], allowedAud: AUDIENCE, requiredClaims: ['exp', 'sub', 'aud'] });
  }

  async issue(userId: string, orderId: string, nowMs = Date.now()): Promise<{ ticket: string; expiresAt: string }> {
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + this.config.eventTicketTtlS;
    const ticket = this.sign({ oid: orderId, sub: userId, aud: AUDIENCE, iat, exp, jti: randomUUID() });
    return { ticket, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The user a ticket was issued to, if it is valid for `orderId` now; else 401. */
  async userOf(ticket: string, orderId: string): Promise<string> {
    let payload: { sub?: unknown; oid?: unknown };
    try {
      payload = this.verify(ticket);
    } catch (err) {
      throw new AppError(ErrorCode.Unauthorized, err instanceof TokenError && err.code === TokenError.codes.expired ? 'ticket expired' : 'invalid ticket');
    }
    if (payload.oid !== orderId || typeof payload.sub !== 'string') throw new AppError(ErrorCode.Unauthorized, 'ticket is for another order');
    return payload.sub;
  }
}
