/**
 * The cache's events. Each event type is built by one constructor below; the event union, the map
 * from type to payload and the `CacheEventType` constants are all derived from these constructors,
 * so names and payloads cannot drift apart.
 */

/** Why a stale value was served instead of a fresh one. */
export type StaleReason = 'error' | 'soft-timeout' | 'hard-timeout' | 'throttle';

const constructors = {
  /** A fresh value was found in memory (L1) and returned. */
  CACHE_HIT: (scope: string, key: string, at: number) => ({ type: 'CACHE_HIT' as const, scope, key, at }),
  /** No fresh value in memory (L1): the L2 is read, the factory runs, the call joins a running load, or fail-safe answers. */
  CACHE_MISS: (scope: string, key: string, at: number) => ({ type: 'CACHE_MISS' as const, scope, key, at }),
  /** A stale value (inside its fail-safe window) was served because the factory failed or was too slow. */
  CACHE_STALE_HIT: (scope: string, key: string, at: number, reason: StaleReason, error?: unknown) => ({
    type: 'CACHE_STALE_HIT' as const,
    scope,
    key,
    at,
    reason,
    error,
  }),
  /** A background refresh (refresh-ahead, or a factory that outlived its timeout) stored a new value. */
  CACHE_REFRESH: (scope: string, key: string, at: number, durationMs: number) => ({
    type: 'CACHE_REFRESH' as const,
    scope,
    key,
    at,
    durationMs,
  }),
  /**
   * The factory ran (as `stats().loads` counts it) and settled with a value that its callers get; a load
   * that a fresh L2 entry answered first is a `CACHE_L2_HIT` instead. With `CACHE_LOAD_ERROR`, every
   * factory run ends with exactly one of the two. `background` is true when no caller was waiting for it.
   */
  CACHE_LOAD: (scope: string, key: string, at: number, durationMs: number, background: boolean) => ({
    type: 'CACHE_LOAD' as const,
    scope,
    key,
    at,
    durationMs,
    background,
  }),
  /** The least recently used entry left the scope to make room (`maxSize`). */
  CACHE_EVICTION: (scope: string, key: string, at: number) => ({ type: 'CACHE_EVICTION' as const, scope, key, at }),
  /** The factory threw or rejected. `background` is true when no caller was waiting for it. */
  CACHE_LOAD_ERROR: (scope: string, key: string, at: number, durationMs: number, error: unknown, background: boolean) => ({
    type: 'CACHE_LOAD_ERROR' as const,
    scope,
    key,
    at,
    durationMs,
    error,
    background,
  }),
  /** No fresh value in this process's L1, but a fresh one in the shared L2: L1 is filled from it. */
  CACHE_L2_HIT: (scope: string, key: string, at: number) => ({ type: 'CACHE_L2_HIT' as const, scope, key, at }),
  /**
   * An operation on the shared layer (L2 store, backplane, lock) failed, or the L2 held something that
   * cannot be decoded. The call went on with L1 and the factory. `scope` and `key` are empty when the
   * operation concerned neither. A failed write, delete, invalidation or publish is also kept for replay
   * (`autoRecovery`); operation `'recovery'` reports one that was dropped without being replayed.
   */
  CACHE_L2_ERROR: (scope: string, key: string, at: number, operation: string, error: unknown) => ({
    type: 'CACHE_L2_ERROR' as const,
    scope,
    key,
    at,
    operation,
    error,
  }),
  /** A caller stopped waiting for the factory after `softTimeout` or `hardTimeout`. */
  CACHE_TIMEOUT: (scope: string, key: string, at: number, durationMs: number, timeout: 'soft' | 'hard') => ({
    type: 'CACHE_TIMEOUT' as const,
    scope,
    key,
    at,
    durationMs,
    timeout,
  }),
};

/** Builds events; used by the cache, exported for layers that re-emit cache events. */
export const cacheEvent = constructors;

/** @inline */
type Constructors = typeof constructors;

/** Every event the cache emits. Switch on `type` to narrow. */
export type CacheEvent = { [K in keyof Constructors]: ReturnType<Constructors[K]> }[keyof Constructors];

/** Event type → event payload. */
export type CacheEventMap = { [K in keyof Constructors]: ReturnType<Constructors[K]> };

/** The names of the cache's events. */
export type CacheEventName = keyof CacheEventMap;

/** `CacheEventType.CACHE_HIT === 'CACHE_HIT'`, and so on for every event. */
export const CacheEventType = Object.freeze(
  Object.fromEntries(Object.keys(constructors).map((k) => [k, k])) as { [K in CacheEventName]: K },
);

/** A listener of every cache event. */
export type CacheEventListener = (event: CacheEvent) => void;
