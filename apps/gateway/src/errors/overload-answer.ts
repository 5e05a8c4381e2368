import { ErrorCode, isAppError } from '@app/contracts';

/**
 * Answers that say the service did not take the call: refused for overload (its admission door, or
 * this gateway's client-side throttling of it), timed out, unreachable. The load signals of the
 * gateway: SRE throttling counts them as non-accepts, the adaptive limit as drops. A 503 for any other
 * reason (a dependency down: the order archive's PostgreSQL, Redis) is an answer the service gave, not
 * a sign of its load: counted as refusals, a PostgreSQL outage made every gateway throttle all of its
 * calls to the query service, reads that Redis answers too, and the throttle outlived the outage by
 * tens of seconds (a torture run found it).
 */
export function isOverloadAnswer(err: unknown): boolean {
  if (!isAppError(err)) return false;
  if (err.code === ErrorCode.ServiceUnavailable) return err.overloaded;
  return err.code === ErrorCode.UpstreamTimeout || err.code === ErrorCode.UpstreamUnreachable;
}

const OVERLOAD_ANSWER = Symbol('rampart.overloadAnswer');

/** Marks a request as answered with an overload answer (the error filter does, for the admission gate). */
export function markOverloadAnswer(request: object): void {
  (request as { [OVERLOAD_ANSWER]?: true })[OVERLOAD_ANSWER] = true;
}

/** Whether the request was answered with an overload answer ({@link markOverloadAnswer}). */
export function wasOverloadAnswer(request: object): boolean {
  return (request as { [OVERLOAD_ANSWER]?: true })[OVERLOAD_ANSWER] === true;
}
