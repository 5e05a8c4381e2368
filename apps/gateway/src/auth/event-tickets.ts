import { createHmac, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
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
  private readonly key: Uint8Array;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    this.key = createHmac('sha256', config.jwtSecret).update('rampart order event tickets').digest();
  }

  async issue(userId: string, orderId: string, nowMs = Date.now()): Promise<{ ticket: string; expiresAt: string }> {
    const expSeconds = Math.floor(nowMs / 1000) + this.config.eventTicketTtlS;
    const ticket = await new SignJWT({ oid: orderId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(expSeconds)
      .setJti(randomUUID())
      .sign(this.key);
    return { ticket, expiresAt: new Date(expSeconds * 1000).toISOString() };
  }

  /** The user a ticket was issued to, if it is valid for `orderId` now; else 401. */
  async userOf(ticket: string, orderId: string): Promise<string> {
    let payload: { sub?: unknown; oid?: unknown };
    try {
      ({ payload } = await jwtVerify(ticket, this.key, { algorithms: ['HS256'], audience: AUDIENCE, requiredClaims: ['exp', 'sub'] }));
    } catch (err) {
      throw new AppError(ErrorCode.Unauthorized, err instanceof joseErrors.JWTExpired ? 'ticket expired' : 'invalid ticket');
    }
    if (payload.oid !== orderId || typeof payload.sub !== 'string') throw new AppError(ErrorCode.Unauthorized, 'ticket is for another order');
    return payload.sub;
  }
}
