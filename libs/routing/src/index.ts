export * from './router.js';
export * from './round-robin.router.js';
export * from './errors/no-healthy-endpoint.error.js';
