import type { StoredEntry } from '@toolkit/cache';

/**
 * An entry as `RedisStore` writes it: the {@link StoredEntry} plus `versions`, the version each of its
 * tags had when it was written (same order as `tags`). A read compares them with the tags' current
 * versions: an entry whose tag was invalidated since reads as missing.
 */
export interface VersionedEntry<V = unknown> extends StoredEntry<V> {
  readonly versions: readonly number[];
}

/**
 * Turns entries into the bytes stored under a Redis key and back. `RedisStore` validates what `decode`
 * returns, so a serializer may simply throw, or return anything, on bytes it did not write.
 *
 * Two are built in: {@link jsonSerializer} (the default: portable, readable, atomic `increment` in Lua)
 * and {@link v8Serializer} (Dates, Maps, Sets, BigInt, typed arrays, cycles; Node only). Others plug in
 * the same way, e.g. one on `msgpackr` (faster and smaller than JSON, and it keeps Dates; not bundled so
 * that this package does not depend on it).
 *
 * @example
 * import { pack, unpack } from 'msgpackr';
 * const msgpackSerializer: RedisSerializer = {
 *   name: 'msgpack',
 *   encode: (entry) => pack(entry),
 *   decode: (raw) => unpack(raw) as VersionedEntry,
 * };
 * new RedisStore({ client, serializer: msgpackSerializer });
 */
export interface RedisSerializer {
  /** A short name, for error messages. */
  readonly name: string;
  /** The bytes to store for `entry`; may throw (a `TypeError`) for a value it cannot encode. */
  encode(entry: VersionedEntry): string | Buffer;
  /** The entry `raw` holds; may throw on bytes it did not write. */
  decode(raw: Buffer): VersionedEntry;
}
