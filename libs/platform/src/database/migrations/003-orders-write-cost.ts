/**
 * What each archived order costs PostgreSQL to write (the archiver inserts a row per settled order,
 * on the claim path's cores when they share a machine):
 * - `history` becomes `json`: it is stored and read back whole, never queried inside, and `jsonb`'s
 *   conversion on input was the largest part of an insert (measured with the upsert's own statement,
 *   200-1,000 rows a batch: ~20 µs of ~45 µs a row in the backend);
 * - `orders_activity` goes: no query reads orders by activity (the reads are by order, by user and by
 *   gift), and each index is another B-tree insert per row.
 * The type change rewrites the table once, under a lock, in the migration's transaction.
 */
export const ordersWriteCost = `
ALTER TABLE orders ALTER COLUMN history TYPE json USING history::json;
DROP INDEX IF EXISTS orders_activity;
`;
