import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable, of } from 'rxjs';
import { ErrorCode, fail } from '@app/contracts';

/**
 * ioredis errors that mean "Redis is not reachable now" rather than a bug: the server is down,
 * restarting or failing over, a cluster is moving slots (a redirection the client could not
 * follow in time), or it is full (`OOM command not allowed`: with `maxmemory-policy noeviction` a
 * full Redis refuses writes, and a claim must then be refused as retryable, never fail as 500).
 */
const UNAVAILABLE =
  /OOM command not allowed|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|\b(MOVED|ASK) \d+ |Too many Cluster redirections/;

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
        const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)} ${(err as { code?: string })?.code ?? ''}`;
        const pattern = String(context.switchToRpc().getContext<{ getPattern(): string }>().getPattern?.() ?? 'unknown');
        if (UNAVAILABLE.test(text)) {
          this.logger.warn({ event: 'storage.unavailable', pattern, error: (err as Error)?.message });
          return of(fail(ErrorCode.ServiceUnavailable, 'storage is unavailable; try again', { retryable: true }));
        }
        this.logger.error({ event: 'handler.failed', pattern, error: (err as Error)?.message, stack: (err as Error)?.stack });
        return of(fail(ErrorCode.Internal, 'internal error'));
      }),
    );
  }
}
