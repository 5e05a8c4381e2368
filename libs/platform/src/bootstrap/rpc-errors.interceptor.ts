import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable, of } from 'rxjs';
import { ErrorCode, fail } from '@app/contracts';
import { isStorageUnavailable } from '../redis/storage-errors.js';

/**
 * The last line of every TCP handler: an exception thrown by a handler becomes a `Reply` error
 * instead of Nest's bare "Internal server error". Storage being unreachable (Redis down or
 * restarting) is SERVICE_UNAVAILABLE and retryable, so the gateway answers 503 with Retry-After
 * and the client may repeat (with the same Idempotency-Key for claims); anything else is INTERNAL.
 */
@Injectable()
export class RpcErrorsInterceptor implements NestInterceptor {
  private readonly logger = new Logger('RpcErrors');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    return next.handle().pipe(
      catchError((err: unknown) => {
        const pattern = String(context.switchToRpc().getContext<{ getPattern(): string }>().getPattern?.() ?? 'unknown');
        if (isStorageUnavailable(err)) {
          this.logger.warn({ event: 'storage.unavailable', pattern, error: (err as Error)?.message });
          return of(fail(ErrorCode.ServiceUnavailable, 'storage is unavailable; try again', { retryable: true }));
        }
        this.logger.error({ event: 'handler.failed', pattern, error: (err as Error)?.message, stack: (err as Error)?.stack });
        return of(fail(ErrorCode.Internal, 'internal error'));
      }),
    );
  }
}
