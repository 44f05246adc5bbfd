import { deserialize, serialize } from 'node:v8';
import type { RedisSerializer, VersionedEntry } from './RedisSerializer';

/**
 * Node's structured clone format (`node:v8` `serialize` / `deserialize`): keeps what JSON loses — `Date`,
 * `Map`, `Set`, `BigInt`, typed arrays, `RegExp`, `undefined`, `NaN`, `Infinity`, shared and cyclic
 * references — with no dependency.
 *
 * Trade-offs: only Node can read the bytes (not other languages, not `redis-cli`); a value written by a
 * newer Node may not be readable by an older one, so roll a fleet forward, not back, or change the store's
 * `version`; class instances come back as plain objects; functions and symbols cannot be encoded. With it,
 * `RedisStore.increment` is an optimistic compare-and-swap instead of one Lua script (the server cannot
 * read these bytes): still atomic, but a few round trips, more under contention.
 */
export const v8Serializer: RedisSerializer = {
  name: 'v8',
  encode(entry: VersionedEntry): Buffer {
    return serialize({
      value: entry.value,
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
      tags: entry.tags,
      versions: entry.versions,
      ...(entry.stamp === undefined ? {} : { stamp: entry.stamp }),
    });
  },
  decode(raw: Buffer): VersionedEntry {
    return deserialize(raw) as VersionedEntry;
  },
};
