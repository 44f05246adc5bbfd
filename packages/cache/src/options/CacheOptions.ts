import type { Duration, Ttl } from './duration';
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
   * the others wait for its value in the L2 (polling with backoff, up to `lockTimeout`). Needs a `lock`
   * in the Cache options. Without it, single-flight is per process.
   * @default false
   */
  distributedLock?: boolean;
  /**
   * How long the distributed lock lives: a holder that crashed frees it after this long, and waiters stop
   * waiting and run the factory themselves.
   * @default '30s'
   */
  lockTimeout?: Duration;
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
   * Prepended, with `:`, to every key of the scope: `{ keyPrefix: 'products' }` stores `42` as
   * `products:42`. Functions wrapped by `cached()` with keys derived from their arguments default to
   * their scope's name.
   * @default '' (none)
   */
  keyPrefix?: string;
  /** Receives this scope's events (the cache's listeners receive them too). */
  onEvent?: CacheEventListener;
}

/** Where the current time comes from. Inject one in tests, or use jest's fake timers (they fake `Date`). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Options of a {@link Cache}: its defaults for every scope, plus cache-wide settings. */
export interface CacheOptions extends Omit<ScopeOptions, 'keyPrefix' | 'onEvent'> {
  /**
   * Namespace of shared stores (an L2 such as Redis): keys there are `prefix:version:key`. The L1 lives
   * in this process only, so it needs no namespace.
   * @default 'toolkit'
   */
  prefix?: string;
  /**
   * Bump to orphan every entry written by an older deployment in shared stores.
   * @default 'v1'
   */
  version?: string;
  /** Receives every event of every scope. Equivalent to `cache.on('*', listener)`. */
  onEvent?: CacheEventListener;
  /**
   * Called when an event listener throws. The call that emitted the event is never affected.
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
   * L2 writes, deletes, tag invalidations and backplane messages that fail are kept (one per key, the
   * latest) and replayed in order once the L2 or the backplane is usable again; a message goes out only
   * after its L2 operation landed. `false`: they are dropped (each failure is still reported).
   * @default { maxItems: 10_000, retryEvery: 1_000 }
   */
  autoRecovery?: AutoRecoveryOptions | false;
}
