import { initial } from './001-initial.js';
import { analytics } from './002-analytics.js';
import { ordersWriteCost } from './003-orders-write-cost.js';

/** One schema change: applied once, in id order, inside a transaction. */
export interface Migration {
  /** Numbered name (`001-initial`); the order of application and the row in `schema_migrations`. */
  id: string;
  sql: string;
}

/** Every migration, oldest first. Never edit an applied one: add the next number. */
export const MIGRATIONS: readonly Migration[] = [
  { id: '001-initial', sql: initial },
  { id: '002-analytics', sql: analytics },
  { id: '003-orders-write-cost', sql: ordersWriteCost },
];
