import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { ErrorCode, isAppError } from '@app/contracts';
import type { GatewayConfig } from '../config/gateway.config.js';
import { EventTickets } from './event-tickets.js';

const JWT_SECRET = 'test-jwt-secret-of-at-least-32-bytes!!';
const tickets = new EventTickets({ jwtSecret: JWT_SECRET, eventTicketTtlS: 60 } as GatewayConfig);
/** The ticket key as the gateway derives it, to forge tickets with jose (an independent signer). */
const ticketKey = createHmac('sha256', JWT_SECRET).update('rampart order event tickets').digest();

async function refusal(ticket: string, orderId: string): Promise<string> {
  try {
    await tickets.userOf(ticket, orderId);
  } catch (err) {
    expect(isAppError(err) && err.code).toBe(ErrorCode.Unauthorized);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

function forge(claims: Record<string, unknown>, expSeconds = Math.floor(Date.now() / 1000) + 60): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expSeconds).sign(ticketKey);
}

describe('EventTickets', () => {
  it('issues a ticket for one user and order that expires after the configured TTL', async () => {
    const nowMs = Date.now();
    const { ticket, expiresAt } = await tickets.issue('user-1', 'order-1', nowMs);
    expect(await tickets.userOf(ticket, 'order-1')).toBe('user-1');
    expect(Date.parse(expiresAt)).toBe((Math.floor(nowMs / 1000) + 60) * 1000);
    expect(await refusal(ticket, 'order-2')).toBe('ticket is for another order');
  });

  it('refuses an expired ticket', async () => {
    const { ticket } = await tickets.issue('user-1', 'order-1', Date.now() - 120_000);
    expect(await refusal(ticket, 'order-1')).toBe('ticket expired');
  });

  it('refuses a token of the ticket key without the tickets\' audience or subject', async () => {
    expect(await refusal(await forge({ oid: 'order-1', sub: 'user-1' }), 'order-1')).toBe('invalid ticket');
    expect(await refusal(await forge({ oid: 'order-1', sub: 'user-1', aud: 'rampart:other' }), 'order-1')).toBe('invalid ticket');
    expect(await refusal(await forge({ oid: 'order-1', aud: 'rampart:order-events' }), 'order-1')).toBe('invalid ticket');
    // The same claims are accepted: what was refused above is the audience or the subject.
    expect(await tickets.userOf(await forge({ oid: 'order-1', sub: 'user-1', aud: 'rampart:order-events' }), 'order-1')).toBe('user-1');
  });

  it('refuses a ticket signed with the user-token secret itself', async () => {
    const token = await new SignJWT({ oid: 'order-1', sub: 'user-1', aud: 'rampart:order-events' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect(await refusal(token, 'order-1')).toBe('invalid ticket');
  });
});
