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
  private readonly policies = new Map<string, Policy>();

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

  /** Breakers of every provider called so far. */
  snapshot(): BreakerSnapshot[] {
    return this.breakers.snapshot();
  }

  dispose(): void {
    this.breakers.dispose();
  }

  private policyFor(providerUrl: string): Policy {
    const origin = new URL(providerUrl).origin;
    let policy = this.policies.get(origin);
    if (!policy) {
      const name = `provider.${new URL(origin).host}`;
      policy = compose(
        new BulkheadPolicy({ name, maxConcurrent: this.options.maxConcurrent, maxQueued: this.options.maxQueued }),
        this.breakers.for(name),
      );
      this.policies.set(origin, policy);
    }
    return policy;
  }
}
