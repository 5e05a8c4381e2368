import { ErrorCode, fail, type Reply } from '@app/contracts';

/**
 * Admission of work from the TCP hop, for a graceful stop: once closed, new messages are refused
 * with a retryable SERVICE_UNAVAILABLE (the client repeats; a claim with the same key), and
 * `drained()` resolves when the messages already admitted have been answered.
 */
export class IntakeGate {
  private isOpen = true;
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  async run<T>(work: () => Promise<Reply<T>>): Promise<Reply<T>> {
    if (!this.isOpen) return fail(ErrorCode.ServiceUnavailable, 'this delivery instance is shutting down; try again', { retryable: true });
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.waiters.splice(0).forEach((wake) => wake());
    }
  }

  close(): void {
    this.isOpen = false;
  }

  /** Resolves when nothing admitted is still running. */
  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
