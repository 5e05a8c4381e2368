export * from './graph-definition.error.js';
export * from './step-definition.js';
export * from './load-result.js';
export * from './load-graph.js';
export type { RunOptions } from './load-run.js';
