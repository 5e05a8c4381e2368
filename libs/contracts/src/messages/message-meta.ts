/** Carried by every request between Rampart processes. */
export interface MessageMeta {
  /** The edge request id (`X-Request-Id`), for logs on both sides. */
  requestId: string;
}
