import { createCached } from './cached';
import type { CachedFunction, CachedOptions } from './cached';
import { CacheScope } from './CacheScope';
import type { CacheStats, ScopeHost } from './CacheScope';
import { CacheEventType } from './events/CacheEvents';
import type { CacheEvent, CacheEventMap, CacheEventName } from './events/CacheEvents';
import { EventBus } from './events/EventBus';
import { createInvalidating } from './invalidating';
import type { InvalidatingFunction, InvalidatingOptions } from './invalidating';
import type { CacheOptions, Clock, ScopeOptions } from './options/CacheOptions';
import { describe } from './options/duration';
import { DEFAULT_MAX_SIZE, DEFAULT_POLICY, resolveKeyPrefix, resolveMaxSize, resolvePolicy } from './options/resolveOptions';
import type { Policy } from './options/resolveOptions';
import { Resource } from './resource';
import type { Uncached } from './uncached';

/** `cache.stats()`: every scope's counters added up, and each scope's own. */
export interface CacheStatsSnapshot extends CacheStats {
  scopes: Record<string, CacheStats>;
}

const systemClock: Clock = { now: () => Date.now() };

const warnListenerError = (error: unknown) => {
  process.emitWarning(
    `a @toolkit/cache event listener threw: ${error instanceof Error ? error.message : String(error)}`,
    { code: 'TOOLKIT_CACHE_LISTENER' },
  );
};

/**
 * A cache: defaults for every scope, named scopes each with its own exact LRU, function wrappers, tags
 * and one event stream.
 *
 * Options merge library defaults → cache → scope → call: omitted values inherit, supplied values replace.
 *
 * @example
 * const cache = new Cache({ ttl: '2m', failSafe: '10m', hardTimeout: '3s', jitter: '10s', maxSize: 1000 });
 * const getProduct = cache.cached((id: string) => db.products.find(id), { ttl: '30s', maxSize: 500 });
 * const users = cache.scope('users', { ttl: '30s' });
 */
export class Cache {
  /** Namespace of shared stores. */
  readonly prefix: string;
  /** Version of the namespace in shared stores. */
  readonly version: string;

  readonly #defaults: Policy;
  readonly #maxSize: number;
  readonly #scopes = new Map<string, CacheScope<unknown>>();
  readonly #host: ScopeHost;

  constructor(options: CacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Cache options must be an object, got ${describe(options)}`);
    }
    const { maxSize, prefix = 'toolkit', version = 'v1', onEvent, onListenerError, clock = systemClock, ...load } = options;
    for (const [name, value] of [['prefix', prefix], ['version', version]] as const) {
      if (typeof value !== 'string' || value === '') {
        throw new TypeError(`\`${name}\` must be a non-empty string, got ${describe(value)}`);
      }
    }
    if (typeof clock?.now !== 'function') throw new TypeError('`clock` must be an object with a now() method');
    if (onListenerError !== undefined && typeof onListenerError !== 'function') {
      throw new TypeError(`\`onListenerError\` must be a function, got ${describe(onListenerError)}`);
    }
    this.prefix = prefix;
    this.version = version;
    this.#defaults = resolvePolicy(DEFAULT_POLICY, load);
    this.#maxSize = resolveMaxSize(maxSize, DEFAULT_MAX_SIZE);
    const reportError = onListenerError ?? warnListenerError;
    this.#host = { clock, bus: new EventBus<CacheEvent>(CacheEventType, reportError), onListenerError: reportError };
    if (onEvent !== undefined) this.#host.bus.on('*', onEvent);
  }

  /**
   * The scope `name`, created on first use with `options` layered over the cache's defaults.
   * Asking again without options returns the same scope; giving options for an existing scope throws,
   * so that two call sites cannot silently disagree on its settings.
   *
   * @example
   * const users = cache.scope<User>('users', { ttl: '30s', maxSize: 500 });
   * await users.set('user:123', user);
   */
  scope<V = unknown>(name: string, options?: ScopeOptions<V>): CacheScope<V> {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`a scope name must be a non-empty string, got ${describe(name)}`);
    }
    const existing = this.#scopes.get(name);
    if (existing !== undefined) {
      if (options !== undefined) {
        throw new TypeError(`scope \`${name}\` already exists: give its options only where it is first created`);
      }
      return existing as CacheScope<V>;
    }
    return this.#createScope(name, options ?? {});
  }

  /** Names of the scopes created so far. */
  get scopeNames(): string[] {
    return [...this.#scopes.keys()];
  }

  /**
   * Wraps a function so that calls with the same arguments are answered from the cache. Each wrapped
   * function has its own scope (its own LRU bound); the wrapper keeps `fn`'s parameter and result types.
   *
   * @example
   * const getUser = cache.cached(async (id: number) => db.users.find(id), { ttl: '1m' });
   * await getUser(42); // miss: runs the function
   * await getUser(42); // hit
   * await getUser.refresh(42); // force refresh
   */
  cached<A extends unknown[], R>(
    fn: (...args: A) => R | Uncached<R> | PromiseLike<R | Uncached<R>>,
    options: CachedOptions<A, Awaited<R>> = {},
  ): CachedFunction<A, Awaited<R>> {
    type Fn = (...args: A) => Awaited<R> | Uncached<Awaited<R>> | PromiseLike<Awaited<R> | Uncached<Awaited<R>>>;
    return createCached<A, Awaited<R>>(fn as Fn, options, (name, scopeOptions, prefixWithName) => {
      const unique = this.#uniqueName(name);
      const keyPrefix = scopeOptions.keyPrefix ?? (prefixWithName ? unique : undefined);
      return this.#createScope(unique, { ...scopeOptions, keyPrefix });
    });
  }

  /**
   * Wraps a function that changes data: after it succeeds, the keys and tags it names are invalidated
   * (in every scope), then the `recache` readers are refreshed. If it fails, nothing is invalidated.
   *
   * @example
   * const updateUser = cache.invalidating(saveUser, {
   *   tags: ['user:{userId}'],
   *   recache: [recache(getUser, { include: ['userId'] })],
   * });
   */
  invalidating<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options: InvalidatingOptions<A, Awaited<R>>,
  ): InvalidatingFunction<A, Awaited<R>> {
    return createInvalidating(fn, options, this);
  }

  /**
   * Entity-based keys and tags: `cache.resource('user', 'userId')` gives readers keyed
   * `user:<suffix>:<userId>` and tagged `user:<userId>`, and writers that invalidate them.
   */
  resource(entity: string, idField: string | number): Resource {
    return new Resource(this, entity, idField);
  }

  /** Listens to every scope's events (`'*'` for all types). Returns a function that unsubscribes. */
  on<K extends CacheEventName>(type: K | '*', listener: (event: CacheEventMap[K]) => void): () => void {
    return this.#host.bus.on(type, listener as (event: CacheEvent) => void);
  }

  /** Drops every entry carrying one of `tags`, in every scope. Resolves to how many were dropped. */
  invalidateTags(tags: readonly string[]): Promise<number> {
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) {
      return Promise.reject(new TypeError(`\`invalidateTags\` takes an array of tags, got ${describe(tags)}`));
    }
    let dropped = 0;
    for (const scope of this.#scopes.values()) dropped += scope.dropTags(tags);
    return Promise.resolve(dropped);
  }

  /** Deletes a full key (as events and `keyFor()` show it) from every scope. Resolves to whether any held it. */
  delete(key: string): Promise<boolean> {
    if (typeof key !== 'string') {
      return Promise.reject(new TypeError(`a cache key must be a string, got ${describe(key)}`));
    }
    let deleted = false;
    for (const scope of this.#scopes.values()) {
      const local = scope.localKey(key);
      if (local !== undefined && scope.removeSync(local)) deleted = true;
    }
    return Promise.resolve(deleted);
  }

  /** Empties every scope. */
  async clear(): Promise<void> {
    await Promise.all([...this.#scopes.values()].map((scope) => scope.clear()));
  }

  /** Counters of every scope added up, and per scope. */
  stats(): CacheStatsSnapshot {
    const total: CacheStatsSnapshot = {
      hits: 0,
      misses: 0,
      hitRate: 0,
      size: 0,
      maxSize: 0,
      staleHits: 0,
      loads: 0,
      loadErrors: 0,
      evictions: 0,
      scopes: {},
    };
    for (const [name, scope] of this.#scopes) {
      const s = scope.stats();
      total.scopes[name] = s;
      total.hits += s.hits;
      total.misses += s.misses;
      total.size += s.size;
      total.maxSize += s.maxSize;
      total.staleHits += s.staleHits;
      total.loads += s.loads;
      total.loadErrors += s.loadErrors;
      total.evictions += s.evictions;
    }
    const lookups = total.hits + total.misses;
    total.hitRate = lookups === 0 ? 0 : total.hits / lookups;
    return total;
  }

  /** The key a shared store (L2) uses for a full key: `prefix:version:key`. */
  storageKey(key: string): string {
    return `${this.prefix}:${this.version}:${key}`;
  }

  #createScope<V>(name: string, options: ScopeOptions<V>): CacheScope<V> {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`the options of scope \`${name}\` must be an object, got ${describe(options)}`);
    }
    const { maxSize, keyPrefix, onEvent, ...load } = options;
    const scope = new CacheScope<V>(
      this.#host,
      name,
      resolvePolicy(this.#defaults, load),
      resolveMaxSize(maxSize, this.#maxSize),
      resolveKeyPrefix(keyPrefix),
    );
    if (onEvent !== undefined) scope.on('*', onEvent);
    this.#scopes.set(name, scope as CacheScope<unknown>);
    return scope;
  }

  #uniqueName(name: string): string {
    if (!this.#scopes.has(name)) return name;
    let n = 2;
    while (this.#scopes.has(`${name}#${n}`)) n++;
    return `${name}#${n}`;
  }
}
