import { type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { finalize, type Observable, of } from 'rxjs';
import { ErrorCode, fail, remainingMs, USER_PATTERNS, type MessageMeta } from '@app/contracts';
import { GradientLimit } from '@app/resilience';

/** How often shed and expired messages are summarised in the log, in ms. */
const SUMMARY_EVERY_MS = 5_000;

/** What this instance's door did since start (for metrics). */
export interface ServiceAdmissionCounters {
  /** Messages that arrived after their caller's deadline: dropped unhandled. */
  expired: number;
  /** Messages refused because the instance was at its concurrency limit. */
  shed: number;
}

/**
 * The door of a service instance (query, delivery), inside the service-proof check: a user message
 * whose caller has already given up (`meta.deadline` passed) is dropped without running its handler,
 * and user messages beyond the instance's adaptive concurrency limit ({@link GradientLimit}, moved by
 * handler latency) are refused at once with SERVICE_UNAVAILABLE, which the gateway's limit and client
 * throttling count as a drop. Operators' messages and probes always pass.
 */
@Injectable()
export class ServiceAdmissionInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Admission');
  readonly limit: GradientLimit;
  readonly counters: ServiceAdmissionCounters = { expired: 0, shed: 0 };
  private inflight = 0;
  private lastSummaryMs = Date.now();
  private summarised: ServiceAdmissionCounters = { expired: 0, shed: 0 };

  constructor(options: { initialLimit?: number; maxLimit?: number } = {}) {
    // Tolerance 3: the handler's latency is the instance's own queue, but on a machine it shares with
    // others it also carries their load; three times the baseline is a queue worth refusing.
    this.limit = new GradientLimit({ initialLimit: options.initialLimit ?? 256, minLimit: 16, maxLimit: options.maxLimit ?? 4096, tolerance: 3 });
  }

  /** Messages being handled now. */
  get inFlight(): number {
    return this.inflight;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const pattern = String(rpc.getContext<{ getPattern(): string }>().getPattern?.() ?? '');
    if (!USER_PATTERNS.has(pattern)) return next.handle();
    const meta = (rpc.getData() as { meta?: MessageMeta } | undefined)?.meta;
    const started = Date.now();
    if (remainingMs(meta, started) <= 0) {
      this.counters.expired++;
      this.summarise(started);
      return of(fail(ErrorCode.ServiceUnavailable, 'the caller gave up before this message was handled', { overloaded: true }));
    }
    if (this.inflight >= this.limit.limit) {
      this.counters.shed++;
      this.summarise(started);
      return of(fail(ErrorCode.ServiceUnavailable, 'instance overloaded; try again', { retryable: true, overloaded: true }));
    }
    const inflightAtStart = ++this.inflight;
    return next.handle().pipe(
      finalize(() => {
        this.inflight--;
        const now = Date.now();
        this.limit.sample(now, now - started, inflightAtStart);
      }),
    );
  }

  private summarise(now: number): void {
    if (now - this.lastSummaryMs < SUMMARY_EVERY_MS) return;
    const expired = this.counters.expired - this.summarised.expired;
    const shed = this.counters.shed - this.summarised.shed;
    this.logger.warn({ event: 'admission.shed', expired, shed, limit: this.limit.limit, sinceMs: now - this.lastSummaryMs });
    this.summarised = { ...this.counters };
    this.lastSummaryMs = now;
  }
}
