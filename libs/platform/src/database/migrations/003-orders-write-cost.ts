/**
 * What each archived order costs PostgreSQL to write (the archiver inserts a row per settled order,
 * on the claim path's cores when they share a machine): `orders_activity` goes, since no query reads
 * orders by activity (the reads are by order, by user and by gift) and each index is another B-tree
 * insert per row. (The archiver now also sends the history as `json[]`, converted to the `jsonb`
 * column per row, instead of parsing a `jsonb[]` array: see `bench/archive-upsert`.)
 */
export const ordersWriteCost = `
DROP INDEX IF EXISTS orders_activity;
`;
