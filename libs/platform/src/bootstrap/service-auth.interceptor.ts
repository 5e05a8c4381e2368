import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { ErrorCode, fail } from '@app/contracts';
import { verifyServiceMessage } from '../auth/service-auth.js';

/** At most one warning per this many ms, so a stranger's flood cannot flood the logs. */
const WARN_EVERY_MS = 5_000;

/**
 * The first check of every TCP message: without a valid `SERVICE_TOKEN` proof (see
 * service-auth.ts) the message is answered AUTH_SERVICE_PROOF and no handler runs.
 */
@Injectable()
export class ServiceAuthInterceptor implements NestInterceptor {
  private readonly logger = new Logger('ServiceAuth');
  private lastWarnMs = 0;
  private refusedSinceWarn = 0;

  constructor(private readonly token: string) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const pattern = String(rpc.getContext<{ getPattern(): string }>().getPattern?.() ?? '');
    const check = verifyServiceMessage(this.token, pattern, rpc.getData());
    if (check.ok) return next.handle();
    this.warn(pattern, check.reason);
    return of(fail(ErrorCode.ServiceAuthFailed, 'message refused: no valid service proof'));
  }

  private warn(pattern: string, reason: string): void {
    this.refusedSinceWarn += 1;
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_EVERY_MS) return;
    this.logger.warn({ event: 'message.refused', pattern: pattern.slice(0, 64), reason, refused: this.refusedSinceWarn });
    this.lastWarnMs = now;
    this.refusedSinceWarn = 0;
  }
}
