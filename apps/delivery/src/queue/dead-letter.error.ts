import { UnrecoverableError } from 'bullmq';

/**
 * Why a delivery job was dead-lettered: `refused` = the provider answered 4xx (permanent);
 * `exhausted` = its tries (or its maximum age) ran out on transient failures; `invalid` = the job
 * cannot run at all (its gift no longer exists).
 */
export type DeadLetterReason = 'refused' | 'exhausted' | 'invalid';
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = ['refused', 'exhausted', 'invalid'];

/** "Do not retry" (BullMQ's `UnrecoverableError`) with the reason, so the worker can count it. */
export class DeadLetterError extends UnrecoverableError {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

/** The reason of a job that just failed for good, from the error it failed with. */
export function deadLetterReasonOf(err: unknown): DeadLetterReason {
  return err instanceof DeadLetterError ? err.reason : 'exhausted';
}
