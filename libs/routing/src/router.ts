/**
 * How one call to an instance ended, as the router sees it. A business refusal (SOLD_OUT,
 * NOT_FOUND, ...) is a `success`: the instance answered correctly.
 */
export type CallOutcome = 'success' | 'transport' | 'timeout' | 'server-error';

/**
 * Chooses the instance of a service for each call and learns from the outcomes. The gateway only
 * depends on this interface, so the choice rule (round robin today, success-rate later) can change
 * without touching the gateway.
 */
export interface Router<E> {
  /**
   * The instance for the next call.
   * @param exclude instances not to return (e.g. the one a retry is moving away from).
   * @throws NoHealthyEndpointError when no instance may be called.
   */
  pick(exclude?: ReadonlySet<E>): E;
  /** Records how a call to `endpoint` ended and how long it took, in ms. */
  report(endpoint: E, outcome: CallOutcome, latencyMs: number): void;
  /** Every instance this router knows, whatever its state. */
  endpoints(): readonly E[];
}
