/** Carried by every request between Rampart processes. */
export interface MessageMeta {
  /** The edge request id (`X-Request-Id`), for logs on both sides. */
  requestId: string;
  /**
   * When the caller gives up on this message (epoch ms, the caller's clock; set by the gateway on every
   * attempt). A service drops a message that arrives after it, and does not start work (such as a
   * provider call) that cannot finish before it. Clocks of one deployment are assumed NTP-close
   * (milliseconds); absent means no deadline.
   */
  deadline?: number;
}

/** Milliseconds left before the message's deadline (Infinity without one; ≤ 0 when it has passed). */
export function remainingMs(meta: MessageMeta | undefined, nowMs = Date.now()): number {
  return typeof meta?.deadline === 'number' ? meta.deadline - nowMs : Infinity;
}
