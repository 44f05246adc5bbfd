/**
 * An entry as a shared store (L2) keeps it: the value and its timeline, so that a process whose L1 is
 * empty still knows when the value stops being fresh, and can serve it by fail-safe until `staleUntil`.
 * Times are ms since the epoch; `Infinity` means never.
 */
export interface StoredEntry<V = unknown> {
  readonly value: V;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly tags: readonly string[];
  /**
   * The write's place in time: when the load of its value started (for a `set`, when it was called), ms
   * since the epoch. Of two writes of a key, a store keeps the one with the later stamp, whatever the
   * order they arrive in, so that a slow load can never replace a newer value. No stamp: no ordering.
   */
  readonly stamp?: number;
}

/**
 * A shared store behind every process's L1 (Redis in `@toolkit/cache-redis`; `MemoryStore` in tests).
 * Keys are the cache's full keys; the store adds its own namespace. A store may fail (the network): the
 * cache catches every rejection, reports `CACHE_L2_ERROR` and carries on with L1 and the factory.
 *
 * Tag invalidation must cost O(1) per tag at invalidation time: entries written before a tag was
 * invalidated must read as missing afterwards, without a scan of the keys carrying it.
 */
export interface CacheStore {
  /**
   * The store's namespace, when it has one (a `RedisStore` does): a `Cache` on it takes these as its own
   * `prefix` and `version`, and refuses different ones, so that `cache.storageKey()` is the store's key.
   */
  readonly prefix?: string;
  /** See {@link CacheStore.prefix}. */
  readonly version?: string;
  /**
   * Entries for `keys`, in order: `undefined` where missing, past `staleUntil`, or invalidated by a tag;
   * an `Error` where the key held something that cannot be decoded (the cache reports it and treats it
   * as a miss).
   */
  getMany(keys: readonly string[]): Promise<Array<StoredEntry | Error | undefined>>;
  /** Writes entries; each leaves the store by itself at its `staleUntil`. */
  setMany(entries: ReadonlyArray<readonly [key: string, entry: StoredEntry]>): Promise<void>;
  /** Writes `entry` only when `key` holds no live entry. Resolves to whether it wrote. Atomic. */
  setIfAbsent(key: string, entry: StoredEntry): Promise<boolean>;
  /**
   * Adds `by` to the number at `key` and resolves to the result, atomically; an absent key is written
   * as `absent` with its value set to `by`; an existing entry keeps its timeline. Rejects with a
   * `TypeError` when the value there is not a number.
   */
  increment(key: string, by: number, absent: StoredEntry<number>): Promise<number>;
  /**
   * Deletes keys; resolves to how many existed. `stamp` is when the delete was made (ms, the cache's clock,
   * the clock of {@link StoredEntry.stamp}; omitted: the store's own): a store that orders writes may then
   * refuse a write of these keys stamped earlier that arrives later (a load that started before the delete).
   * The same `stamp` goes to the other deletes below.
   */
  deleteMany(keys: readonly string[], stamp?: number): Promise<number>;
  /** Deletes every key starting with `prefix` (`''`: the whole namespace), by scanning, never blocking. */
  deleteByPrefix(prefix: string, stamp?: number): Promise<number>;
  /** Deletes every key matching a glob (`*`, `?`; other characters literal). */
  deleteMatching(pattern: string, stamp?: number): Promise<number>;
  /**
   * Makes every entry carrying one of `tags` read as missing, in O(1) per tag, and deletes the entry whose
   * key equals one of `tags` whatever tags it carries (a lookup of that one key, no index).
   */
  invalidateTags(tags: readonly string[], stamp?: number): Promise<void>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  /**
   * Optional: calls `listener` each time the store becomes usable again after a loss of its connection,
   * so that the cache replays at once the writes it owes (it also retries on a timer). Returns a function
   * that stops the calls.
   */
  onAvailable?(listener: () => void): () => void;
  /**
   * Optional: calls `listener` with failures of the store's connection itself (refused, TLS,
   * authentication), which happen outside any operation. The cache reports each as `CACHE_L2_ERROR` with
   * `operation: 'connection'`. Returns a function that stops listening (the cache calls it on `close()`).
   */
  onConnectionError?(listener: (error: Error) => void): () => void;
}

/** What one process tells the others through a {@link Backplane}, so they drop their L1 copies. */
export type BackplaneMessage =
  | { readonly type: 'keys'; readonly source: string; readonly keys: readonly string[] }
  | { readonly type: 'prefix'; readonly source: string; readonly prefix: string }
  | { readonly type: 'match'; readonly source: string; readonly pattern: string }
  | { readonly type: 'tags'; readonly source: string; readonly tags: readonly string[] }
  | { readonly type: 'scope'; readonly source: string; readonly scope: string };

/**
 * Carries invalidations between processes (Redis pub/sub in `@toolkit/cache-redis`). The cache puts its
 * own id in `source` and ignores its own messages.
 */
export interface Backplane {
  publish(message: BackplaneMessage): Promise<void>;
  /**
   * Starts delivering messages. `onReconnect` is called after the connection was lost and came back:
   * messages may have been missed meanwhile.
   */
  subscribe(onMessage: (message: BackplaneMessage) => void, onReconnect: () => void): Promise<void>;
  /** Stops delivering messages. */
  unsubscribe(): Promise<void>;
  /**
   * Optional: calls `listener` each time publishing works again after a loss of the connection, so that
   * the cache sends at once the messages it owes. Returns a function that stops the calls.
   */
  onAvailable?(listener: () => void): () => void;
  /** Optional, as {@link CacheStore.onConnectionError}: failures of the backplane's connections. */
  onConnectionError?(listener: (error: Error) => void): () => void;
}

/**
 * What {@link DistributedLock.tryAcquire} resolves to when it took the lock: call it to release the lock
 * (only if it is still this holder's). A plain `() => Promise<void>` is one, without `renew`.
 */
export interface LockRelease {
  (): Promise<void>;
  /**
   * Extends the lock to `ttlMs` from now if this holder still has it; resolves to whether it had it (false:
   * it expired and may have been taken over). The cache calls it every `ttlMs / 3` while its factory runs,
   * so that the lock lives as long as its holder, and a crashed holder's lock frees itself `ttlMs` after its
   * last renewal. Optional: a lock without it simply expires `ttlMs` after it was taken.
   */
  renew?: (ttlMs: number) => Promise<boolean>;
}

/**
 * A lock held across processes, for distributed single-flight: only the holder runs the factory, the
 * others wait for its value in the L2 and retry the lock when it frees. It expires by itself `ttlMs` after
 * it was taken (or last renewed), so a crashed holder's lock frees itself.
 */
export interface DistributedLock {
  /** Takes the lock once if it is free; resolves to a function that releases it (and may renew it), or `undefined`. */
  tryAcquire(key: string, ttlMs: number): Promise<LockRelease | undefined>;
}
