import { Logger } from '@nestjs/common';
import { BreakerRegistry, BulkheadPolicy, compose, isBulkheadFull, isCircuitOpen, type BreakerSnapshot, type Policy } from '@app/resilience';
import type { BeforeSend, DeliveryRequestBody, ProviderClient, ProviderOutcome } from './provider.client.js';

/** Limits of the calls to one provider. */
export interface ProviderGuardOptions {
  /** Calls to one provider at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; beyond, a call is not sent (the order is queued). */
  maxQueued: number;
  /** Failure percentage over the breaker window that opens the circuit. */
  failureThresholdPercent: number;
  /** Calls in the window before the percentage counts. */
  volumeThreshold: number;
  /** Time an open circuit waits before one trial call, in ms. */
  halfOpenAfterMs: number;
}

/** A provider answer that counts as a failure for the breaker (carries the outcome through it). */
class ProviderFailure extends Error {
  constructor(readonly outcome: ProviderOutcome) {
    super(`provider failure: ${outcome.kind}`);
  }
}

interface ProviderGuards {
  policy: Policy;
  bulkhead: BulkheadPolicy;
}

const FAILURES = new Set<ProviderOutcome['kind']>(['not-sent', 'failed', 'unknown']);

/**
 * Provider calls behind one bulkhead and one circuit breaker per provider origin, so a slow or
 * failing provider cannot take the delivery instance's capacity from the others, and calls to a
 * provider that is down fail fast. Composed bulkhead outside the breaker (a rejection by a full
 * bulkhead must not count for the breaker). A call refused by either was never sent: it comes
 * back as `not-sent`, so the claim hands the order to the queue (202) instead of waiting.
 */
export class GuardedProvider {
  private readonly logger = new Logger(GuardedProvider.name);
  private readonly breakers: BreakerRegistry;
  /** The guards of each provider origin, and of each provider URL seen (its origin's, without parsing it again). */
  private readonly byOrigin = new Map<string, ProviderGuards>();
  private readonly byUrl = new Map<string, ProviderGuards>();

  constructor(
    private readonly client: ProviderClient,
    private readonly options: ProviderGuardOptions,
  ) {
    this.breakers = new BreakerRegistry({
      failureThresholdPercent: options.failureThresholdPercent,
      volumeThreshold: options.volumeThreshold,
      halfOpenAfterMs: options.halfOpenAfterMs,
      countsAsFailure: (err) => err instanceof ProviderFailure,
    });
    this.breakers.onStateChange((change) => this.logger.warn({ event: `breaker.${change.to}`, breaker: change.name, from: change.from }));
  }

  /** `beforeSend` runs inside the bulkhead slot, just before the request goes out. */
  async deliver(providerUrl: string, body: DeliveryRequestBody, beforeSend?: BeforeSend): Promise<ProviderOutcome> {
    try {
      return await this.policyFor(providerUrl).execute(async () => {
        const outcome = await this.client.deliver(providerUrl, body, beforeSend);
        if (FAILURES.has(outcome.kind)) throw new ProviderFailure(outcome);
        return outcome;
      });
    } catch (err) {
      if (err instanceof ProviderFailure) return err.outcome;
      if (isCircuitOpen(err)) return { kind: 'not-sent', reason: `circuit open for provider ${new URL(providerUrl).host}` };
      if (isBulkheadFull(err)) return { kind: 'not-sent', reason: `too many calls in flight to provider ${new URL(providerUrl).host}` };
      return { kind: 'unknown', reason: (err as Error).message };
    }
  }

  /**
   * Whether a call to this provider made now goes out at once: its bulkhead has a free slot, so it
   * does not wait for one (a call that finds the circuit open is refused at once, not sent).
   */
  sendsAtOnce(providerUrl: string): boolean {
    return this.guardsOf(providerUrl).bulkhead.hasFreeSlot;
  }

  /** Breakers of every provider called so far. */
  snapshot(): BreakerSnapshot[] {
    return this.breakers.snapshot();
  }

  dispose(): void {
    this.breakers.dispose();
  }

  private policyFor(providerUrl: string): Policy {
    return this.guardsOf(providerUrl).policy;
  }

  private guardsOf(providerUrl: string): ProviderGuards {
    const known = this.byUrl.get(providerUrl);
    if (known) return known;
    const origin = new URL(providerUrl).origin;
    let guards = this.byOrigin.get(origin);
    if (!guards) {
      const name = `provider.${new URL(origin).host}`;
      const bulkhead = new BulkheadPolicy({ name, maxConcurrent: this.options.maxConcurrent, maxQueued: this.options.maxQueued });
      guards = { policy: compose(bulkhead, this.breakers.for(name)), bulkhead };
      this.byOrigin.set(origin, guards);
    }
    // Gifts name a few provider URLs; bounded anyway (a flood of distinct URLs only costs parsing).
    if (this.byUrl.size < 1_000) this.byUrl.set(providerUrl, guards);
    return guards;
  }
}
