/** Types of `cluster-key-slot` (the slot function ioredis routes Cluster commands by), which ships none. */
declare module 'cluster-key-slot' {
  /** The Cluster hash slot (0–16383) of a key: CRC16 of the key, or of its `{hash tag}`, modulo 16384. */
  export default function calculateSlot(key: string | Buffer): number;
}
