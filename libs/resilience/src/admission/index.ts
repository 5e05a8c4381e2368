export * from './gradient-limit.js';
export * from './request-class.js';
export * from './user-cohorts.js';
export * from './admission-controller.js';
export * from './client-throttle.js';
export * from './priority-level.js';
