/** `cluster-key-slot` (ioredis' own dependency) ships no types. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of a key (of its `{hash tag}` when it has one). */
  export default function calculateSlot(key: string | Buffer): number;
}
