/**
 * How one call to an instance ended, as the router sees it. A business refusal (SOLD_OUT,
 * NOT_FOUND, ...) is a `success`: the instance answered correctly.
 */
export type CallOutcome = 'success' | 'transport' | 'timeout' | 'server-error';

/** Routing state of one instance: serving, out for a while, or on trial. */
export type EndpointState = 'healthy' | 'ejected' | 'probing';

/** What `/admin/upstreams` shows of one instance. */
export interface EndpointSnapshot<E> {
  endpoint: E;
  state: EndpointState;
  /** Share of successful calls (0–1) in the window; 1 when there were none. */
  successRate: number;
  /** Calls in the window. */
  requests: number;
  /** 99th percentile latency in the window, in ms (bin upper bound); 0 when there were none. */
  p99Ms: number;
  /** Ejections since the instance became known. */
  ejections: number;
  /** While ejected: ms until it is probed. */
  ejectedForMs?: number;
  /** The release the instance runs (`RELEASE`), when the router groups by release. */
  release?: string;
}

/**
 * Chooses the instance of a service for each call and learns from the outcomes. The gateway only
 * depends on this interface, so the choice rule (success rate or round robin) is a switch.
 */
export interface Router<E> {
  /**
   * The instance for the next call. Every `pick` must be followed by one `report` for it.
   * @param exclude instances not to return (e.g. the one a retry is moving away from).
   * @param userId the user the call is for: a release-aware router sends them to their release
   *   (gray release); other routers ignore it.
   * @throws NoHealthyEndpointError when no instance may be called.
   */
  pick(exclude?: ReadonlySet<E>, userId?: string): E;
  /**
   * Records how a call to `endpoint` ended and how long it took, in ms. `isConnectRefused` marks a
   * transport failure where nothing listened (the request never left). Unknown endpoints are ignored.
   */
  report(endpoint: E, outcome: CallOutcome, latencyMs: number, isConnectRefused?: boolean): void;
  /** Every instance this router knows, whatever its state. */
  endpoints(): readonly E[];
  /** Replaces the set of instances (discovery): new ones start healthy, known ones keep their state. */
  setEndpoints(endpoints: readonly E[]): void;
  /** State and statistics of every instance. */
  snapshot(): EndpointSnapshot<E>[];
  /** Instances waiting for an active health probe (none when the router does not probe). */
  probeTargets?(): readonly E[];
  /** Result of one active health probe of a probing instance. */
  reportProbe?(endpoint: E, isOk: boolean): void;
  /** Whether some instance not in `exclude` is healthy (not ejected, not probing). Default: any instance is. */
  hasHealthy?(exclude?: ReadonlySet<E>): boolean;
}
