import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import type { Counter, Histogram } from 'prom-client';
import type { Metrics } from './metrics.js';

/**
 * Counts and times every TCP message a service handles, by pattern and outcome (`ok`, or the
 * error code of the Reply envelope; `exception` for a thrown error). HTTP calls pass untouched.
 */
@Injectable()
export class MessageMetricsInterceptor implements NestInterceptor {
  private readonly messages: Counter<'pattern' | 'outcome'>;
  private readonly duration: Histogram<'pattern'>;

  constructor(metrics: Metrics) {
    this.messages = metrics.counter('rampart_messages_total', 'TCP messages handled, by pattern and outcome', ['pattern', 'outcome']);
    this.duration = metrics.histogram('rampart_message_duration_seconds', 'TCP message handling time, by pattern', ['pattern']);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const pattern = String(context.switchToRpc().getContext<{ getPattern(): string }>().getPattern?.() ?? 'unknown');
    const started = performance.now();
    const done = (outcome: string) => {
      this.messages.inc({ pattern, outcome });
      this.duration.observe({ pattern }, (performance.now() - started) / 1000);
    };
    return next.handle().pipe(
      tap({
        next: (reply) => done(outcomeOf(reply)),
        error: () => done('exception'),
      }),
    );
  }
}

function outcomeOf(reply: unknown): string {
  if (reply && typeof reply === 'object' && 'ok' in reply) {
    const r = reply as { ok: boolean; error?: { code?: string } };
    return r.ok ? 'ok' : String(r.error?.code ?? 'error');
  }
  return 'ok';
}
