import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { bearerToken } from './bearer-token.js';
import { EventTickets } from './event-tickets.js';
import { UserAuthGuard, type UserRequest } from './user-auth.guard.js';

/**
 * `GET /api/orders/{orderId}/events`: a user token as on every user route, or, for a browser's
 * `EventSource`, `?ticket=` from `POST /api/orders/{orderId}/events/ticket` (that order only).
 */
@Injectable()
export class OrderEventsAuthGuard implements CanActivate {
  constructor(
    private readonly users: UserAuthGuard,
    private readonly tickets: EventTickets,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<UserRequest & { params: { orderId?: string }; query: { ticket?: unknown } }>();
    const ticket = request.query?.ticket;
    if (bearerToken(request) || typeof ticket !== 'string') return this.users.canActivate(context);
    request.userId = await this.tickets.userOf(ticket, String(request.params.orderId ?? ''));
    return true;
  }
}
