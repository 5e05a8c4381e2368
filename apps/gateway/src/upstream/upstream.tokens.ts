/** Injection token of the query service's {@link Upstream}. */
export const QUERY_UPSTREAM = Symbol('QUERY_UPSTREAM');
/** Injection token of the delivery service's {@link Upstream}. */
export const DELIVERY_UPSTREAM = Symbol('DELIVERY_UPSTREAM');
