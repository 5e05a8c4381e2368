export * from './router.js';
export * from './clock.js';
export * from './round-robin.router.js';
export * from './success-rate.window.js';
export * from './ejection.policy.js';
export * from './success-rate.router.js';
export * from './probe.scheduler.js';
export * from './errors/no-healthy-endpoint.error.js';
