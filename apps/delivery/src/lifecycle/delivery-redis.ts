/** Injection token of the delivery app's main Redis connection. */
export const DELIVERY_REDIS = Symbol('DELIVERY_REDIS');
