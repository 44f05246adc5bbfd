import type { Duration, Ttl } from './duration';
import type { Isolation } from './isolation';
import type { CacheEventListener } from '../events/CacheEvents';
import type { AutoRecoveryOptions } from '../AutoRecovery';
import type { Backplane, CacheStore, DistributedLock } from '../stores/CacheStore';

/**
 * How long an entry lives: a fixed {@link Ttl}, or a function of the value being stored
 * (dynamic TTL), e.g. `(user) => (user.isAdmin ? '1m' : '1h')`.
 */
export type TtlOption<T = unknown> = Ttl | ((value: T) => Ttl);

/** Options that shape one stored entry. Valid on the cache, a scope, a call and a single `set`. */
export interface EntryOptions<T = unknown> {
  /**
   * How long a value is fresh after it is written. `0`, `Infinity` or `null`: never expires
   * (only LRU eviction or invalidation remove it). A function of the value gives a dynamic TTL.
   * @default '5m'
   * @example { ttl: '30s' } // or 30_000
   */
  ttl?: TtlOption<T>;
  /**
   * How long after `ttl` a stale entry is kept, to be served only when a refresh fails or is slower
   * than `softTimeout` / `hardTimeout`. A stale entry is never served on a plain hit. `0` disables.
   * A common starting point is 5 to 10 times the TTL.
   * @default 0
   */
  failSafe?: Duration;
  /**
   * A random extra TTL, uniformly drawn in `[0, jitter]` for each write, so that keys written together
   * do not all expire together. A common starting point is 5 to 10 percent of the TTL.
   * @default 0
   */
  jitter?: Duration;
  /**
   * Tags the entry carries; `cache.invalidateTags(['user:1'])` drops every entry carrying one of them,
   * in every scope. Unlike other options, tags accumulate across layers: an entry carries the cache's,
   * its scope's and its call's (or `set`'s) tags.
   * @default []
   */
  tags?: readonly string[];
}

/** Options that shape how a value is loaded on a miss. Valid on the cache, a scope and a call. */
export interface LoadOptions<T = unknown> extends EntryOptions<T> {
  /**
   * After serving a stale value because the factory failed, keep serving it for this long before the
   * factory is asked again (so a failing backend is not hammered). Never longer than the fail-safe window.
   * @default '30s'
   */
  failSafeThrottle?: Duration;
  /**
   * When a stale entry (inside its `failSafe` window) exists and the factory is slower than this, answer
   * with the stale value at once; the factory keeps running in the background and refreshes the entry
   * when it completes. Without a stale entry the caller waits (up to `hardTimeout`). `null`: off.
   * @default null
   */
  softTimeout?: Duration | null;
  /**
   * Stop waiting for the factory after this long: answer with the stale value if there is one, else
   * reject with a `CacheTimeoutError`. The factory still completes in the background and its result is
   * stored. `null`: off.
   * @default null
   */
  hardTimeout?: Duration | null;
  /**
   * A fraction of the TTL in `(0, 1)`: a hit on an entry older than `ttl × refreshAhead` returns the
   * cached value and starts one background refresh. `0` or `null`: off.
   * @default null
   * @example { ttl: '10m', refreshAhead: 0.8 } // hits after 8 minutes refresh in the background
   */
  refreshAhead?: number | null;
  /**
   * Whether `null` and `undefined` results are cached (as "known to be absent").
   * @default true
   */
  cacheNullish?: boolean;
  /**
   * Decides per result whether it is stored; the result is returned to the caller either way.
   * Runs after `cacheNullish`.
   * @example { shouldCache: (res) => res.status === 200 }
   */
  shouldCache?: ((value: T) => boolean) | null;
  /**
   * Distributed single-flight: on a miss, only the process holding the lock for the key runs the factory;
   * the others wait for its value in the L2, polling with backoff and retrying the lock (not the factory)
   * when it frees or expires, for up to `lockWaitTimeout`. Needs a `lock` in the Cache options. Without
   * it, single-flight is per process.
   * @default false
   */
  distributedLock?: boolean;
  /**
   * The distributed lock's time to live. The holder renews it every third of this while its factory runs
   * (when the lock can be renewed, as `RedisLock` and `MemoryLock` can), so a slow factory keeps it; a
   * holder that crashed stops renewing, and its lock frees itself at most this long after, for one waiter
   * to take over. Shorter: faster takeover after a crash; longer: fewer renewals.
   * @default '10s'
   */
  lockTimeout?: Duration;
  /**
   * The longest a caller waits for another process's lock on its key (its own bound, distinct from the
   * lock's `lockTimeout`): past it, the caller stops waiting and runs the factory itself. Keep it longer
   * than `lockTimeout` plus a factory run, so that after a holder crashes a waiter takes the lock over
   * before the others give up. A finite duration greater than 0 (else a `TypeError`).
   * @default '30s'
   * @example { distributedLock: true, lockTimeout: '5s', lockWaitTimeout: '20s' }
   */
  lockWaitTimeout?: Duration;
}

/** Options of one `scope.getOrSet()` call: {@link LoadOptions} for this call, and the caller's signal. */
export interface GetOrSetOptions<T = unknown> extends LoadOptions<T> {
  /**
   * Lets this caller stop waiting: when it aborts, the call rejects with the signal's reason (an
   * `AbortError` by default). The load goes on for the other callers of the key and still fills the
   * cache; only this caller leaves.
   * @example
   * await users.getOrSet(`user:${id}`, () => db.users.find(id), { signal: AbortSignal.timeout(1000) });
   */
  signal?: AbortSignal;
}

/** Options of a scope: everything in {@link LoadOptions}, plus what only a whole scope can have. */
export interface ScopeOptions<T = unknown> extends LoadOptions<T> {
  /**
   * The most entries this scope holds in memory. Exact: adding one more evicts one entry, least recently
   * used first (quick-lru's two generations: see the README's "How `maxSize` bounds a scope").
   * Per scope, not per cache. `Infinity`: unbounded.
   * @default 1000
   */
  maxSize?: number;
  /**
   * The namespace of the scope's keys: the full key of local key `42` is `products:42` with
   * `{ keyPrefix: 'products' }`. Written with `escapeKeyPart` (`:` → `%3A`, `%` → `%25`, `{` → `%7B`,
   * `}` → `%7D`), so no two namespaces, nor a namespace and a key, can be mistaken for each other. Two
   * scopes of one cache may not have the same namespace (a `TypeError`).
   * @default the scope's name
   */
  keyPrefix?: string;
  /**
   * What callers share when they read a value: `'none'` (the stored object itself), `'freeze'` (deep-frozen
   * when stored: a mutation throws) or `'clone'` (a `structuredClone` copy for every read). See
   * {@link Isolation} for what each costs and covers.
   * @default 'none'
   * @example cache.scope<Cart>('carts', { isolation: 'clone' }) // callers mutate their copy freely
   */
  isolation?: Isolation;
  /** Receives this scope's events (the cache's listeners receive them too). */
  onEvent?: CacheEventListener;
}

/** Where the current time comes from. Inject one in tests, or use jest's fake timers (they fake `Date`). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/**
 * What `scope.setIfAbsent` and `scope.incr` do when the L2 cannot answer (see `atomicFallback`):
 * `'reject'` with a `CacheAtomicError`, or answer from this process's `'local'` memory.
 */
export type AtomicFallback = 'reject' | 'local';

/** Options of a {@link Cache}: its defaults for every scope, plus cache-wide settings. */
export interface CacheOptions extends Omit<ScopeOptions, 'keyPrefix' | 'onEvent'> {
  /**
   * Namespace in the shared store (an L2 such as Redis): entries live under `prefix:version:e:key`
   * (`cache.storageKey(key)`). The store decides it: a `RedisStore` has its own `prefix`, which the cache
   * takes; giving a different one here throws a `TypeError`. Same characters as a `RedisStore`'s (no `:`,
   * `*`, `?`, `[`, `]`, `\`, `{`, `}` or whitespace). The L1 lives in this process only and needs none.
   * @default the store's, else 'svc' (as `CACHE_PREFIX`)
   */
  prefix?: string;
  /**
   * Second segment of the namespace: bump it (on the store, or with `CACHE_VERSION`) to orphan every
   * entry an older deployment wrote. Taken from the store as `prefix` is.
   * @default the store's, else 'v1'
   */
  version?: string;
  /** Receives every event of every scope. Equivalent to `cache.on('*', listener)`. */
  onEvent?: CacheEventListener;
  /**
   * Called when an event listener throws, or returns a promise that rejects. The call that emitted the event is never affected.
   * @default process.emitWarning
   */
  onListenerError?: (error: unknown) => void;
  /** @default Date */
  clock?: Clock;
  /**
   * The shared L2 behind every process's L1 (e.g. `RedisStore` from `@toolkit/cache-redis`). Reads that
   * miss L1 look here before running the factory; writes go to both.
   */
  store?: CacheStore;
  /** Tells other processes to drop their L1 copies when this one writes, deletes or invalidates. */
  backplane?: Backplane;
  /** The lock behind `distributedLock`. */
  lock?: DistributedLock;
  /**
   * What `scope.setIfAbsent` and `scope.incr` do when there is an L2 but it cannot give an answer that
   * holds across processes (unreachable, circuit breaker open, timeout, a key of the wrong type):
   * `'reject'` rejects the call with a `CacheAtomicError` (its `cause` is the store's error) and changes
   * nothing in L1; `'local'` answers from this process's L1 as if there were no L2 — two processes may
   * then both win `setIfAbsent`, or both count from 1. Either way the failure is reported as
   * `CACHE_L2_ERROR`. Without an L2 these operations are local anyway.
   * @default 'reject'
   * @example new Cache({ store, atomicFallback: 'local' }) // a rate limiter that prefers a per-process count to an error
   */
  atomicFallback?: AtomicFallback;
  /**
   * L2 writes, deletes, tag invalidations and backplane messages that fail are kept (one per key, the
   * latest) and replayed in order once the L2 or the backplane is usable again; a message goes out only
   * after its L2 operation landed. `false`: they are dropped (each failure is still reported).
   * @default { maxItems: 10_000, retryEvery: 1_000 }
   */
  autoRecovery?: AutoRecoveryOptions | false;
}
