import { resolveAutoRecovery } from './AutoRecovery';
import { coarseClock } from './coarseClock';
import { createCached } from './cached';
import type { CachedFunction, CachedOptions } from './cached';
import { CacheScope } from './CacheScope';
import type { CacheStats, ScopeHost } from './CacheScope';
import { CacheEventType, cacheEvent } from './events/CacheEvents';
import type { CacheEvent, CacheEventMap, CacheEventName } from './events/CacheEvents';
import { EventBus } from './events/EventBus';
import { escapeKeyPart } from './keys/escapeKeyPart';
import { createInvalidating } from './invalidating';
import type { InvalidatingFunction, InvalidatingOptions } from './invalidating';
import type { CacheOptions, Clock, ScopeOptions } from './options/CacheOptions';
import { describe, timerMs } from './options/duration';
import type { Duration } from './options/duration';
import { DEFAULT_MAX_SIZE, DEFAULT_POLICY, resolveKeyPrefix, resolveMaxSize, resolvePolicy } from './options/resolveOptions';
import type { Policy } from './options/resolveOptions';
import { resolveIsolation } from './options/isolation';
import { CACHE_OPTIONS, SCOPE_OPTIONS, checkOptionKeys } from './options/optionKeys';
import { DEFAULT_PREFIX, DEFAULT_VERSION, storageNamespace } from './keys/storageNamespace';
import type { Isolation } from './options/isolation';
import { Resource } from './resource';
import { SharedLayer } from './SharedLayer';
import { compileGlob } from './keys/glob';
import type { BackplaneMessage } from './stores/CacheStore';
import { randomUUID } from 'node:crypto';
import type { Uncached } from './uncached';

/**
 * `cache.stats()`: every scope's counters added up, and each scope's own. The total `l2Errors` also counts
 * failures of operations that belong to no scope (`cache.delete`, `invalidateTags`, `clear`, the subscription).
 */
export interface CacheStatsSnapshot extends CacheStats {
  scopes: Record<string, CacheStats>;
}

/** Options of `cache.close()`. */
export interface CloseOptions {
  /**
   * The longest `close()` waits for loads in progress and L2 writes in flight before it gives up on them.
   * Milliseconds or a duration string.
   * @default '5s'
   */
  timeout?: Duration;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

const systemClock: Clock = coarseClock();

const warnListenerError = (error: unknown) => {
  process.emitWarning(
    `a @toolkit/cache event listener threw: ${error instanceof Error ? error.message : String(error)}`,
    { code: 'TOOLKIT_CACHE_LISTENER' },
  );
};

/**
 * A cache: defaults for every scope, named scopes each with its own bounded LRU, function wrappers, tags
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
  /** This instance's id: the `source` of its backplane messages. */
  readonly id: string;
  /**
   * Resolves once the backplane delivers messages (at once without one). A subscription that fails is
   * reported as `CACHE_L2_ERROR`; the cache works without it.
   */
  readonly ready: Promise<void>;
  /** Namespace of shared stores. */
  readonly prefix: string;
  /** Version of the namespace in shared stores. */
  readonly version: string;

  readonly #defaults: Policy;
  readonly #maxSize: number;
  readonly #isolation: Isolation;
  readonly #scopes = new Map<string, CacheScope<unknown>>();
  /** Each scope by its escaped namespace, what its full keys start with before the first `:`. */
  readonly #namespaces = new Map<string, CacheScope<unknown>>();
  readonly #host: ScopeHost;
  /** Failed shared-layer operations that belong to no scope (cache.delete, invalidateTags, clear, subscribe). */
  #unscopedL2Errors = 0;
  /** Stops the store's and backplane's connection-error listeners (on close). */
  readonly #stopListening: Array<() => void> = [];

  constructor(options: CacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Cache options must be an object, got ${describe(options)}`);
    }
    checkOptionKeys(options, CACHE_OPTIONS, 'Cache');
    const {
      maxSize,
      isolation,
      prefix: givenPrefix,
      version: givenVersion,
      onEvent,
      onListenerError,
      clock = systemClock,
      store,
      backplane,
      lock,
      atomicFallback = 'reject',
      autoRecovery,
      ...load
    } = options;
    if (atomicFallback !== 'reject' && atomicFallback !== 'local') {
      throw new TypeError(`\`atomicFallback\` must be 'reject' or 'local', got ${describe(atomicFallback)}`);
    }
    const prefix = namespacePart('prefix', givenPrefix, store?.prefix, DEFAULT_PREFIX);
    const version = namespacePart('version', givenVersion, store?.version, DEFAULT_VERSION);
    storageNamespace(prefix, version);
    if (typeof clock?.now !== 'function') throw new TypeError('`clock` must be an object with a now() method');
    if (onListenerError !== undefined && typeof onListenerError !== 'function') {
      throw new TypeError(`\`onListenerError\` must be a function, got ${describe(onListenerError)}`);
    }
    this.prefix = prefix;
    this.version = version;
    this.#defaults = resolvePolicy(DEFAULT_POLICY, load);
    this.#maxSize = resolveMaxSize(maxSize, DEFAULT_MAX_SIZE);
    this.#isolation = resolveIsolation(isolation, 'none');
    const recovery = resolveAutoRecovery(autoRecovery);
    const reportError = onListenerError ?? warnListenerError;
    this.id = randomUUID();
    const bus = new EventBus<CacheEvent>(CacheEventType, reportError);
    const shared =
      store === undefined && backplane === undefined && lock === undefined
        ? undefined
        : new SharedLayer(store, backplane, lock, this.id, (operation, error, scope, key) =>
            this.#reportShared(operation, error, scope, key),
            clock,
            atomicFallback,
            recovery,
          );
    this.#host = { clock, bus, onListenerError: reportError, shared };
    // Connection failures (TLS, authentication, refused) happen outside any operation: report them as they come.
    for (const source of [store, backplane]) {
      const stop = source?.onConnectionError?.((error) => this.#reportShared('connection', error, undefined, undefined));
      if (stop !== undefined) this.#stopListening.push(stop);
    }
    if (onEvent !== undefined) bus.on('*', onEvent);
    if (this.#defaults.distributedLock && lock === undefined) {
      throw new TypeError('`distributedLock` needs a `lock` in the Cache options (e.g. a RedisLock from @toolkit/cache-redis)');
    }
    this.ready =
      backplane === undefined
        ? Promise.resolve()
        : backplane.subscribe(
            (message) => this.#onBackplane(message),
            () => this.#onReconnect(),
          ).catch((error: unknown) => this.#reportShared('subscribe', error, undefined, undefined));
  }

  /**
   * The scope `name`, created on first use with `options` layered over the cache's defaults.
   * Asking again without options returns the same scope; giving options for an existing scope throws,
   * so that two call sites cannot silently disagree on its settings. The scope's keys live under its
   * namespace, its `keyPrefix` or else its name, which no other scope of this cache may have.
   *
   * @example
   * const users = cache.scope<User>('users', { ttl: '30s', maxSize: 500 });
   * await users.set('user:123', user); // full key users:user:123
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
    if (options !== null && typeof options === 'object') checkOptionKeys(options, SCOPE_OPTIONS, `scope \`${name}\``);
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
    return createCached<A, Awaited<R>>(fn as Fn, options, (name, scopeOptions) =>
      this.#createScope(this.#uniqueName(name, scopeOptions.keyPrefix === undefined), scopeOptions),
    );
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

  /**
   * Drops every entry carrying one of `tags`, in every scope, in the L2 and (through the backplane) in
   * every process. Resolves to how many this process's L1 dropped.
   */
  async invalidateTags(tags: readonly string[]): Promise<number> {
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) {
      throw new TypeError(`\`invalidateTags\` takes an array of tags, got ${describe(tags)}`);
    }
    let dropped = 0;
    for (const scope of this.#scopes.values()) dropped += scope.dropTags(tags);
    await this.#host.shared?.invalidateTags(tags);
    return dropped;
  }

  /**
   * Deletes a full key (as events and `keyFor()` show it) from the scope whose namespace starts it, the L2
   * and every process's L1. Resolves to whether any held it.
   */
  async delete(key: string): Promise<boolean> {
    if (typeof key !== 'string') throw new TypeError(`a cache key must be a string, got ${describe(key)}`);
    const deleted = this.#dropLocal(key);
    const removed = await this.#host.shared?.delete('', [key]);
    return deleted || (removed ?? 0) > 0;
  }

  /** Empties every scope, in every process, and the L2's whole namespace. */
  async clear(): Promise<void> {
    for (const scope of this.#scopes.values()) scope.clearLocal();
    await this.#host.shared?.deleteByPrefix(undefined, '');
  }

  /**
   * Waits for every load in progress and every L2 write in flight to settle, so nothing is lost, makes a
   * last replay of the failed L2 operations still owed (`autoRecovery`; what is left is reported as
   * `CACHE_L2_ERROR` with operation `'recovery'`), then stops listening to the backplane. The wait for loads
   * and writes is bounded by `options.timeout` whatever the factories do: loads still running then are
   * abandoned (a late result still fills L1), and a process warning (code `TOOLKIT_CACHE_CLOSE`) says how
   * many, per scope. Closing the store's connection is its owner's (e.g. `RedisStore.close()`).
   *
   * @example
   * process.on('SIGTERM', () => void cache.close({ timeout: '2s' }).then(() => process.exit(0)));
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`\`close\` options must be an object such as { timeout: '5s' }, got ${describe(options)}`);
    }
    const timeout = options.timeout === undefined ? DEFAULT_CLOSE_TIMEOUT_MS : timerMs(options.timeout, 'timeout');
    const shared = this.#host.shared;
    const work = (async () => {
      await Promise.allSettled([...this.#scopes.values()].map((scope) => scope.settled()));
      await shared?.drain();
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      work.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, timeout, false))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      const running = [...this.#scopes.values()].filter((scope) => scope.pendingLoads > 0);
      process.emitWarning(
        `cache.close() stopped waiting after ${timeout} ms; loads still running: ${
          running.map((scope) => `${scope.pendingLoads} in \`${scope.name}\``).join(', ') || 'none (L2 writes in flight)'
        }`,
        { code: 'TOOLKIT_CACHE_CLOSE' },
      );
    }
    await shared?.close();
    await shared?.backplane?.unsubscribe().catch((error: unknown) => this.#reportShared('unsubscribe', error, undefined, undefined));
    for (const stop of this.#stopListening.splice(0)) stop();
  }

  #dropLocal(fullKey: string): boolean {
    // A full key is `namespace:local` with no `:` in the (escaped) namespace: one scope at most holds it.
    const colon = fullKey.indexOf(':');
    if (colon < 0) return false;
    const scope = this.#namespaces.get(fullKey.slice(0, colon));
    return scope !== undefined && scope.removeSync(fullKey.slice(colon + 1));
  }

  /** Another process wrote, deleted or invalidated: drop this process's L1 copies. */
  #onBackplane(message: BackplaneMessage): void {
    if (message.source === this.id) return;
    switch (message.type) {
      case 'keys':
        for (const key of message.keys) this.#dropLocal(key);
        return;
      case 'prefix':
        for (const scope of this.#scopes.values()) scope.dropLocalWhere((key) => key.startsWith(message.prefix));
        return;
      case 'match': {
        const matcher = compileGlob(message.pattern);
        for (const scope of this.#scopes.values()) scope.dropLocalWhere((key) => matcher.test(key));
        return;
      }
      case 'tags':
        for (const scope of this.#scopes.values()) scope.dropTags(message.tags);
        return;
      case 'scope':
        this.#scopes.get(message.scope)?.clearLocal();
        return;
    }
  }

  /**
   * The backplane reconnected: messages sent meanwhile are lost, so no L1 entry can be trusted. Every
   * scope's L1 is emptied; the next reads come from the L2. What this process owes the others (writes
   * and messages that failed while the connection was down) is replayed at once.
   */
  #onReconnect(): void {
    for (const scope of this.#scopes.values()) scope.clearLocal();
    void this.#host.shared?.recover();
  }

  #reportShared(operation: string, error: unknown, scope: string | undefined, key: string | undefined): void {
    const owner = scope === undefined ? undefined : this.#scopes.get(scope);
    if (owner !== undefined) owner.countL2Error();
    else this.#unscopedL2Errors++;
    if (!this.#host.bus.wants('CACHE_L2_ERROR') && owner?.wants('CACHE_L2_ERROR') !== true) return;
    const event = cacheEvent.CACHE_L2_ERROR(scope ?? '', key ?? '', this.#host.clock.now(), operation, error);
    if (owner !== undefined) owner.emitEvent(event);
    else this.#host.bus.emit(event);
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
      l2Hits: 0,
      l2Errors: this.#unscopedL2Errors,
      // Keyed by user-chosen names: no prototype, so a scope named `__proto__` is a scope like any other.
      scopes: Object.create(null) as Record<string, CacheStats>,
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
      total.l2Hits += s.l2Hits;
      total.l2Errors += s.l2Errors;
    }
    const lookups = total.hits + total.misses;
    total.hitRate = lookups === 0 ? 0 : total.hits / lookups;
    return total;
  }

  /** The key a shared store (L2) keeps a full key's entry under: `prefix:version:e:key`, a `RedisStore`'s layout. */
  storageKey(key: string): string {
    return `${this.prefix}:${this.version}:e:${key}`;
  }

  #createScope<V>(name: string, options: ScopeOptions<V>): CacheScope<V> {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`the options of scope \`${name}\` must be an object, got ${describe(options)}`);
    }
    const { maxSize, keyPrefix, onEvent, isolation, ...load } = options;
    let policy: Policy, bound: number, prefix: string, isolated: Isolation;
    try {
      policy = resolvePolicy(this.#defaults, load);
      bound = resolveMaxSize(maxSize, this.#maxSize);
      prefix = resolveKeyPrefix(keyPrefix, name);
      isolated = resolveIsolation(isolation, this.#isolation);
    } catch (error) {
      throw inScope(error, name);
    }
    if (policy.distributedLock && this.#host.shared?.lock === undefined) {
      throw new TypeError(
        `scope \`${name}\` asks for \`distributedLock\`, which needs a \`lock\` in the Cache options (e.g. a RedisLock from @toolkit/cache-redis)`,
      );
    }
    const taken = this.#namespaces.get(escapeKeyPart(prefix));
    if (taken !== undefined) {
      throw new TypeError(
        `scope \`${name}\` would share the key namespace \`${prefix}\` with scope \`${taken.name}\`, so each would read ` +
          `the other's entries in a shared store: give it another \`keyPrefix\` (or none: its name is used)`,
      );
    }
    const scope = new CacheScope<V>(this.#host, name, policy, bound, prefix, isolated);
    if (onEvent !== undefined) scope.on('*', onEvent);
    this.#scopes.set(name, scope as CacheScope<unknown>);
    this.#namespaces.set(escapeKeyPart(prefix), scope as CacheScope<unknown>);
    return scope;
  }

  /** `name`, or `name#2`, `name#3`…: free as a scope name and, when it is to be the namespace, as a namespace. */
  #uniqueName(name: string, asNamespace: boolean): string {
    const free = (candidate: string) =>
      !this.#scopes.has(candidate) && !(asNamespace && this.#namespaces.has(escapeKeyPart(candidate)));
    if (free(name)) return name;
    let n = 2;
    while (!free(`${name}#${n}`)) n++;
    return `${name}#${n}`;
  }
}

/** An option error of scope `name`, its message saying which scope (the error keeps its class). */
function inScope(error: unknown, name: string): unknown {
  if (!(error instanceof TypeError || error instanceof RangeError)) return error;
  const Class = error instanceof RangeError ? RangeError : TypeError;
  return new Class(`scope \`${name}\`: ${error.message}`, { cause: error });
}

/**
 * The cache's `prefix` or `version`: the one given, else the store's, else the default. A given one that
 * differs from the store's is refused: `storageKey()` would name keys the store does not write.
 */
function namespacePart(name: 'prefix' | 'version', given: unknown, ofStore: unknown, fallback: string): string {
  if (typeof ofStore === 'string') {
    if (given !== undefined && given !== ofStore) {
      throw new TypeError(
        `\`${name}\` ${describe(given)} differs from the store's ${describe(ofStore)}: the store decides where entries live; leave \`${name}\` out, or give the store the same one`,
      );
    }
    return ofStore;
  }
  return given === undefined ? fallback : (given as string);
}
