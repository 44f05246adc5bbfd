import { cacheEntry } from './CacheEntry';
import type { CacheEntry } from './CacheEntry';
import { CacheTimeoutError } from './errors/CacheTimeoutError';
import { CacheEventType, cacheEvent } from './events/CacheEvents';
import type { CacheEvent, CacheEventMap, CacheEventName, StaleReason } from './events/CacheEvents';
import { EventBus } from './events/EventBus';
import type { Clock, EntryOptions, GetOrSetOptions, LoadOptions } from './options/CacheOptions';
import { describe } from './options/duration';
import { deepFreeze } from './options/isolation';
import type { Isolation } from './options/isolation';
import { resolvePolicy, ttlFor } from './options/resolveOptions';
import { ENTRY_OPTIONS, GET_OR_SET_OPTIONS, LOAD_OPTIONS, checkOptionKeys } from './options/optionKeys';
import type { Policy } from './options/resolveOptions';
import { BoundedLru } from './stores/BoundedLru';
import { keyOfSlot } from './stores/lruSlot';
import { compileGlob, escapeGlob } from './keys/glob';
import { BatchLoader } from './BatchLoader';
import { abortReason, raceAbort } from './raceAbort';
import { escapeKeyPart } from './keys/escapeKeyPart';
import { Uncached } from './uncached';
import type { SharedLayer } from './SharedLayer';
import type { StoredEntry } from './stores/CacheStore';
import type { BatchLoaderOptions, BatchLoadFn } from './BatchLoader';

/** Counters of one scope (or, from `cache.stats()`, of all scopes added up). */
export interface CacheStats {
  /**
   * Lookups (`getOrSet`, a cached function's call, `get`, each key of `getMany`) answered with a fresh L1
   * value.
   */
  hits: number;
  /**
   * Lookups that found no fresh L1 value: they went to the L2 (see `l2Hits`), ran or joined a load, or
   * (`get`) returned `undefined`.
   */
  misses: number;
  /**
   * `hits / (hits + misses)`, `0` before the first call: the L1's. The share of lookups answered without
   * a loader, L2 included, is `(hits + l2Hits) / (hits + misses)`.
   */
  hitRate: number;
  /**
   * Entries held now. Entries past their fail-safe window leave lazily (when read, evicted, or by
   * `scope.prune()`), and count until then.
   */
  size: number;
  /** The bound on `size` (`Infinity` when unbounded). */
  maxSize: number;
  /** Misses answered with a stale value by fail-safe (error, timeout or throttle). */
  staleHits: number;
  /**
   * Loader (factory) runs started, foreground and background: a miss the L2 answers is not one, so that
   * across processes the loads add up to the backend's calls.
   */
  loads: number;
  /** Factory runs that threw or rejected. */
  loadErrors: number;
  /** Entries evicted to respect `maxSize`. */
  evictions: number;
  /** Misses answered by a fresh entry of the shared L2, with no loader run. */
  l2Hits: number;
  /** Failed operations on the shared layer (L2, backplane, lock), and undecodable L2 values. */
  l2Errors: number;
}

/** What `warmup()` did: the keys it stored, the ones it did not store, and the ones whose loader failed. */
export interface WarmupResult {
  /** Keys whose value was loaded and stored. */
  loaded: string[];
  /** Keys whose loader answered but whose value was not stored: `uncached()`, `shouldCache`, `cacheNullish`. */
  skipped: string[];
  failed: Array<{ key: string; error: unknown }>;
}

/** What a scope needs from its cache. @internal */
export interface ScopeHost {
  readonly clock: Clock;
  readonly bus: EventBus<CacheEvent>;
  readonly onListenerError: (error: unknown) => void;
  /** The L2, backplane and lock, when the cache has any. */
  readonly shared: SharedLayer | undefined;
}

/**
 * A load's answer that already has its entry (from the L2, or from the factory and written to the L2):
 * L1 stores exactly that entry, so that every process agrees on the timeline.
 * @internal
 */
class Loaded {
  constructor(
    readonly value: unknown,
    /** `undefined` when the value is not to be cached (`shouldCache`, `cacheNullish`). */
    readonly entry: CacheEntry | undefined,
  ) {}
}

/** A load in progress; callers that miss on the same key join it. @internal */
interface Flight<V> {
  /** The load's answer; set right after the flight is made. */
  promise: Promise<V>;
  /** The tags its result will carry, known before it starts so that tag invalidation can discard it. */
  readonly tags: readonly string[];
  /** Set when the key is written, removed or invalidated while loading: the result is returned, not stored. */
  discard: boolean;
  /** Set when no caller waits for it any more (refresh-ahead, or callers that timed out). */
  background: boolean;
  /**
   * Set when a caller's hard timeout passed: the key no longer waits for this load (the next caller starts
   * a fresh one); its result, if it ever comes, fills the cache only where no newer value or load is.
   */
  detached: boolean;
  /** Set when its loader ran (no fresh L2 entry answered first): a load in `stats().loads` and `CACHE_LOAD`. */
  ran: boolean;
}

/** How a read invokes its loader without allocating a closure on the hit path. @internal */
export type Invoke<V, A, B> = (a: A, b: B) => V | Uncached<V> | PromiseLike<V | Uncached<V>>;
/** Computes the tags of a value loaded for a call. @internal */
export type TagsOf<B> = ((b: B) => readonly string[]) | null;

/** A flight's promise until its work has started (never awaited). */
const STARTING: Promise<never> = new Promise<never>(() => undefined);

const callLoader = <V>(loader: () => V | Uncached<V> | PromiseLike<V | Uncached<V>>) => loader();

const ignoreRejection = (): void => undefined;

/**
 * A named partition of a {@link Cache}: its own LRU of at most `maxSize` entries, its own
 * options (inherited from the cache where omitted), its own stats. Get one with `cache.scope(name)`;
 * every function wrapped by `cache.cached()` has one too.
 *
 * Keys passed to a scope's methods are local to it. The full key, seen in events, in `cache.delete()` and
 * by shared stores, is the scope's namespace (its `keyPrefix`, by default its name) written with
 * `escapeKeyPart`, then `:`, then the local key: `users:user:1`. The namespace holds no `:`, so no two
 * scopes ever share a full key.
 *
 * All operations return promises, so that a shared store (L2) can sit behind them.
 */
export class CacheScope<V = unknown> {
  /** The scope's name (unique within its cache). */
  readonly name: string;
  /** The namespace of the scope's full keys (its `keyPrefix` option, by default its name), unescaped. */
  readonly keyPrefix: string;
  /** The exact bound on the number of entries. */
  readonly maxSize: number;
  /** What callers share when they read a value: see {@link Isolation}. */
  readonly isolation: Isolation;

  /** @internal the resolved options of this scope */
  readonly policy: Policy;
  readonly #host: ScopeHost;
  /** `escapeKeyPart(keyPrefix) + ':'`: what starts every full key of this scope. */
  readonly #head: string;
  readonly #bus: EventBus<CacheEvent>;
  // Internals hold `unknown` so that V appears only in method signatures: a CacheScope<User> is then
  // usable where a CacheScope<unknown> is expected.
  readonly #l1: BoundedLru<CacheEntry>;
  readonly #flights = new Map<string, Flight<unknown>>();
  readonly #tagIndex = new Map<string, Set<string>>();
  /**
   * Entries served by fail-safe after a failure: until when the stale value is served without asking the
   * factory again (`failSafeThrottle`). Rare, so kept here rather than in a field of every entry.
   */
  readonly #throttled = new WeakMap<CacheEntry, number>();

  #hits = 0;
  #misses = 0;
  #staleHits = 0;
  #loads = 0;
  #loadErrors = 0;
  #evictions = 0;
  #l2Hits = 0;
  #l2Errors = 0;
  /**
   * Moves on whenever keys of this scope are removed or invalidated (here, or by another process through
   * the backplane). An L2 call in flight meanwhile may answer what was just invalidated: its answer is
   * returned but not put in L1. (Loads have the same protection per key, through `discard`.)
   */
  #invalidations = 0;
  /** `isolation === 'clone'`: every value handed out is a copy. */
  readonly #cloning: boolean;

  /** @internal use `cache.scope()` */
  constructor(host: ScopeHost, name: string, policy: Policy, maxSize: number, keyPrefix: string, isolation: Isolation = 'none') {
    this.#host = host;
    this.name = name;
    this.policy = policy;
    this.maxSize = maxSize;
    this.keyPrefix = keyPrefix;
    this.isolation = isolation;
    this.#cloning = isolation === 'clone';
    this.#head = `${escapeKeyPart(keyPrefix)}:`;
    this.#bus = new EventBus<CacheEvent>(CacheEventType, host.onListenerError);
    this.#l1 = new BoundedLru<CacheEntry>(maxSize, (key, entry) => {
      this.#unindex(key, entry.tags);
      this.#evictions++;
      if (this.#wants('CACHE_EVICTION')) this.#emit(cacheEvent.CACHE_EVICTION(this.name, this.fullKey(key), this.#host.clock.now()));
    });
  }

  /** The full key of a local key: `escapeKeyPart(keyPrefix) + ':' + key`. */
  fullKey(key: string): string {
    return this.#head + key;
  }

  /** Listens to this scope's events (`'*'` for all). Returns a function that unsubscribes. */
  on<K extends CacheEventName>(type: K | '*', listener: (event: CacheEventMap[K]) => void): () => void {
    return this.#bus.on(type, listener as (event: CacheEvent) => void);
  }

  /**
   * The value for `key`, loading it with `loader` on a miss. Concurrent misses on one key run the
   * loader once and share its result or its error (single-flight). On a loader error or timeout, a
   * stale value inside its fail-safe window is served instead.
   *
   * A caller can stop waiting with `options.signal`; the load goes on for the others.
   *
   * @example
   * const user = await users.getOrSet(`user:${id}`, () => db.users.find(id), { ttl: '1m' });
   */
  getOrSet(key: string, loader: () => V | Uncached<V> | PromiseLike<V | Uncached<V>>, options?: GetOrSetOptions<V>): Promise<V> {
    try {
      checkKey(key);
      if (typeof loader !== 'function') {
        throw new TypeError(`the loader of \`getOrSet\` must be a function, got ${describe(loader)}`);
      }
      if (options === undefined) return this.read(key, this.policy, false, callLoader, loader, undefined, null);
      if (options !== null && typeof options === 'object') checkOptionKeys(options, GET_OR_SET_OPTIONS, 'getOrSet()');
      const { signal, ...load } = options;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError(`\`signal\` must be an AbortSignal, got ${describe(signal)}`);
      }
      // An already-aborted caller starts nothing.
      if (signal?.aborted === true) return Promise.reject(abortReason(signal));
      const read = this.read(key, resolvePolicy(this.policy, load), false, callLoader, loader, undefined, null);
      return signal === undefined ? read : raceAbort(read, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The one read path (getOrSet, cached functions, batch loads). Hit: fresh value, and past
   * `refreshAhead` one background refresh. Miss: join the running load or start one, guarded by
   * fail-safe and timeouts when they apply. `slot` is the local key, or the number an integer-derived key
   * is held under in L1 (42 for `#42`: a hit then makes no key string).
   * @internal
   */
  read<A, B>(
    slot: string | number,
    policy: Policy,
    force: boolean,
    invoke: Invoke<V, A, B>,
    a: A,
    b: B,
    tagsOf: TagsOf<B>,
  ): Promise<V> {
    const now = this.#host.clock.now();
    const entry = force ? undefined : this.#l1.get(slot);
    if (entry !== undefined && now - entry.base < entry.expiry) {
      this.#hits++;
      if (this.#wants('CACHE_HIT')) this.#emit(cacheEvent.CACHE_HIT(this.name, this.fullKey(keyOfSlot(slot)), now));
      if (now >= entry.refreshAt && !this.#flights.has(keyOfSlot(slot))) {
        this.#load(keyOfSlot(slot), policy, invoke, a, b, tagsOf, true, true);
      }
      // A promise per hit, as an async function makes: keeping one per entry would cost 48 bytes each.
      return Promise.resolve((this.#cloning ? structuredClone(entry.value) : entry.value) as V);
    }
    const key = keyOfSlot(slot);
    let stale: CacheEntry | undefined;
    if (entry !== undefined) {
      const throttledUntil = this.#throttled.get(entry);
      if (throttledUntil !== undefined && now < throttledUntil) {
        this.#staleHits++;
        this.#misses++;
        const wantsMiss = this.#wants('CACHE_MISS');
        if (wantsMiss || this.#wants('CACHE_STALE_HIT')) {
          const fullKey = this.fullKey(key);
          if (wantsMiss) this.#emit(cacheEvent.CACHE_MISS(this.name, fullKey, now));
          if (this.#wants('CACHE_STALE_HIT')) this.#emit(cacheEvent.CACHE_STALE_HIT(this.name, fullKey, now, 'throttle'));
        }
        return Promise.resolve((this.#cloning ? structuredClone(entry.value) : entry.value) as V);
      }
      if (now < entry.staleUntil) stale = entry;
      else this.#drop(key, entry);
    }
    this.#misses++;
    if (this.#wants('CACHE_MISS')) this.#emit(cacheEvent.CACHE_MISS(this.name, this.fullKey(key), now));
    const flight = (force ? undefined : this.#flights.get(key)) ?? this.#load(key, policy, invoke, a, b, tagsOf, false, force);
    const answer =
      stale === undefined && policy.hardTimeout === Number.POSITIVE_INFINITY
        ? (flight.promise as Promise<V>)
        : this.#guard(key, flight, stale, policy, now);
    // Callers that joined one load each get their own copy.
    return this.#cloning ? answer.then(cloneValue) : answer;
  }

  /**
   * The fresh value for `key`, or `undefined`: from L1, else from the L2 (filling L1). Counts a hit or a
   * miss; never returns a stale value.
   */
  async get(key: string): Promise<V | undefined> {
    const [value] = await this.getMany([key]);
    return value;
  }

  /** @internal the synchronous L1 read behind `ResultCache` */
  getSync(key: string): V | undefined {
    checkKey(key);
    const entry = this.#fresh(key, true);
    this.#count(key, entry !== undefined);
    return (this.#cloning && entry !== undefined ? structuredClone(entry.value) : entry?.value) as V | undefined;
  }

  /** Fresh values for `keys`, in order (`undefined` where there is none); L1 misses go to the L2 in one batch. */
  async getMany(keys: readonly string[]): Promise<Array<V | undefined>> {
    if (!Array.isArray(keys)) throw new TypeError(`\`getMany\` takes an array of keys, got ${describe(keys)}`);
    keys.forEach(checkKey);
    const values: Array<V | undefined> = [];
    const missing: number[] = [];
    const found = new Set<number>();
    keys.forEach((key, i) => {
      const entry = this.#fresh(key, true);
      values[i] = entry?.value as V | undefined;
      if (entry === undefined) missing.push(i);
      else found.add(i);
    });
    // A hit is a fresh L1 value, as for getOrSet: one the L2 answers is a miss, then an L2 hit.
    keys.forEach((key, i) => this.#count(key, found.has(i)));
    const shared = this.#host.shared;
    if (shared?.store !== undefined && missing.length > 0) {
      const epoch = this.#invalidations;
      // One missing key joins the lookups of the same tick (other gets, loads' misses): one MGET for all.
      const stored =
        missing.length === 1
          ? [await shared.get(this.name, this.fullKey(keys[missing[0]!] as string))]
          : await shared.getMany(this.name, missing.map((i) => this.fullKey(keys[i] as string)));
      const fill = epoch === this.#invalidations;
      missing.forEach((i, n) => {
        const key = keys[i] as string;
        const loaded = this.#freshStored(stored[n], this.fullKey(key), this.policy);
        if (loaded?.entry !== undefined) {
          if (fill) this.#write(key, loaded.entry);
          values[i] = loaded.value as V;
          found.add(i);
        }
      });
    }
    return this.#cloning ? values.map(cloneValue) : values;
  }

  /**
   * Stores a value (in L1 and the L2; other processes drop their copies). `options` apply to this entry
   * only (per-key TTL): `set(k, v, { ttl: '1h' })`, `set(k, v, { ttl: null })` for no expiry. A load of the
   * same key in progress will not overwrite it.
   */
  async set(key: string, value: V, options?: EntryOptions<V>): Promise<void> {
    await this.setMany([[key, value]], options);
  }

  /** @internal the synchronous L1 write behind `ResultCache` */
  setSync(key: string, value: V, options?: EntryOptions<V>): void {
    checkKey(key);
    const policy = this.#policyFor(options, ENTRY_OPTIONS, 'put');
    this.#setLocal(key, value, policy);
  }

  /** The policy of one call's options, refusing a name that is not one of `known`. */
  #policyFor(options: object | undefined, known: Readonly<Record<string, true>>, method: string): Policy {
    if (options === undefined) return this.policy;
    if (options !== null && typeof options === 'object') checkOptionKeys(options, known, `${method}()`);
    return resolvePolicy(this.policy, options as LoadOptions);
  }

  /** Stores several values with the same options (in one L2 round trip). */
  async setMany(entries: Iterable<readonly [string, V]>, options?: EntryOptions<V>): Promise<void> {
    const policy = this.#policyFor(options, ENTRY_OPTIONS, 'setMany');
    const list = [...entries];
    for (const pair of list) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError(`\`setMany\` takes [key, value] pairs, got ${describe(pair)}`);
      }
      checkKey(pair[0]);
    }
    const written: Array<[string, StoredEntry]> = [];
    const stamp = this.#host.clock.now();
    for (const [key, value] of list) {
      const entry = this.#setLocal(key, value, policy);
      if (entry !== undefined) written.push([this.fullKey(key), toStored(entry, stamp)]);
    }
    await this.#host.shared?.set(this.name, written);
  }

  /** True when `key` has a fresh value (in L1 or the L2). Does not count as a hit or a miss, nor touch recency. */
  async has(key: string): Promise<boolean> {
    checkKey(key);
    if (this.#fresh(key, false) !== undefined) return true;
    const shared = this.#host.shared;
    if (shared?.store === undefined) return false;
    const stored = await shared.get(this.name, this.fullKey(key));
    return stored !== undefined && this.#host.clock.now() < stored.freshUntil;
  }

  /** Removes `key` (fresh or stale) from L1 and the L2. Resolves to whether there was an entry. */
  async remove(key: string): Promise<boolean> {
    const local = this.removeSync(key);
    const removed = await this.#host.shared?.delete(this.name, [this.fullKey(key)]);
    return removed === undefined ? local : local || removed > 0;
  }

  /** @internal the L1 part of a removal (also what a backplane message does) */
  removeSync(key: string): boolean {
    checkKey(key);
    this.#invalidations++;
    this.#discardFlight(key);
    const entry = this.#l1.peek(key);
    if (entry === undefined) return false;
    this.#drop(key, entry);
    return true;
  }

  /** Returns the fresh value of `key` and removes the entry (pop). */
  async getDelete(key: string): Promise<V | undefined> {
    const value = await this.get(key);
    await this.remove(key);
    return value;
  }

  /**
   * Stores `value` only when `key` has no fresh value; with an L2, atomically across processes.
   * Resolves to whether it was stored. When the L2 fails, rejects with a `CacheAtomicError` and stores
   * nothing (unless the cache's `atomicFallback` is `'local'`: then L1 alone decides).
   */
  async setIfAbsent(key: string, value: V, options?: EntryOptions<V>): Promise<boolean> {
    checkKey(key);
    if (this.#fresh(key, false) !== undefined) return false;
    const policy = this.#policyFor(options, ENTRY_OPTIONS, 'setIfAbsent');
    const entry = this.#entryFor(value, policy, policy.tags);
    if (entry === undefined) return false;
    const epoch = this.#invalidations;
    const wrote = await this.#host.shared?.setIfAbsent(this.name, this.fullKey(key), toStored(entry));
    if (wrote === false) return false;
    this.#discardFlight(key);
    if (epoch === this.#invalidations) this.#write(key, entry);
    return true;
  }

  /**
   * Adds `by` to the number stored at `key` (an absent key counts as 0) and resolves to the new value;
   * with an L2, atomically across processes. An existing entry keeps its expiry; a new one gets the
   * scope's TTL (or `options`). Rejects with a `TypeError` when the stored value is not a number, and
   * with a `CacheAtomicError` when the L2 fails (unless the cache's `atomicFallback` is `'local'`: then
   * L1 alone counts).
   */
  async incr(key: string, by = 1, options?: EntryOptions<V>): Promise<number> {
    checkKey(key);
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new TypeError(`\`incr\` takes a finite number to add, got ${describe(by)}`);
    }
    const policy = this.#policyFor(options, ENTRY_OPTIONS, 'incr');
    const current = this.#fresh(key, false);
    if (current !== undefined && typeof current.value !== 'number') {
      throw new TypeError(`\`incr\` needs a number at \`${this.fullKey(key)}\`, found ${describe(current.value)}`);
    }
    // A counter is stored whatever shouldCache says of numbers: incr is an explicit write.
    const fresh = this.#entryFor(by as V, { ...policy, shouldCache: null, cacheNullish: true }, policy.tags) as CacheEntry;
    const epoch = this.#invalidations;
    const counted = await this.#host.shared?.increment(this.name, this.fullKey(key), by, toStored(fresh) as StoredEntry<number>);
    const next = counted ?? ((current?.value as number | undefined) ?? 0) + by;
    const timeline = current ?? fresh;
    this.#discardFlight(key);
    // The L2 counted, and kept its entry's timeline: L1 copies it only when it already had that entry and
    // nothing was invalidated meanwhile; else the next read takes the entry, timeline included, from the L2.
    if (counted === undefined || (current !== undefined && epoch === this.#invalidations)) {
      this.#write(key, cacheEntry(next, timeline.freshUntil, timeline.staleUntil, timeline.refreshAt, timeline.tags));
    } else {
      const held = this.#l1.peek(key);
      if (held !== undefined) this.#drop(key, held);
    }
    return next;
  }

  /** Removes every key starting with `prefix` (local keys), in L1 and the L2. Resolves to how many were removed. */
  async deleteByPrefix(prefix: string): Promise<number> {
    if (typeof prefix !== 'string') throw new TypeError(`\`deleteByPrefix\` takes a string, got ${describe(prefix)}`);
    const local = this.#removeWhere((key) => key.startsWith(prefix));
    const removed = await this.#host.shared?.deleteByPrefix(this.name, this.fullKey(prefix));
    return removed ?? local;
  }

  /**
   * Removes every key matching a glob pattern (local keys), in L1 and the L2: `*` matches any run of
   * characters, `?` one character. Resolves to how many were removed.
   *
   * @example
   * await scope.deleteMatch('user:*:profile');
   */
  async deleteMatch(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern === '') {
      throw new TypeError(`\`deleteMatch\` takes a non-empty glob pattern such as 'user:*:profile', got ${describe(pattern)}`);
    }
    const matcher = compileGlob(pattern);
    const local = this.#removeWhere((key) => matcher.test(key));
    const full = escapeGlob(this.#head) + pattern;
    const removed = await this.#host.shared?.deleteMatching(this.name, full);
    return removed ?? local;
  }

  /**
   * Removes every entry of the scope, in this process and (through the backplane) in the others, and its
   * L2 entries. Loads in progress will not store their results.
   */
  async clear(): Promise<void> {
    this.clearLocal();
    const shared = this.#host.shared;
    if (shared === undefined) return;
    if (shared.store !== undefined) await shared.deleteByPrefix(this.name, this.#head);
    await shared.publish(this.name, { type: 'scope', source: shared.source, scope: this.name });
  }

  /** @internal empties this process's L1 of the scope (also what a backplane message does) */
  clearLocal(): void {
    this.#invalidations++;
    for (const flight of this.#flights.values()) flight.discard = true;
    this.#flights.clear();
    this.#l1.clear();
    this.#tagIndex.clear();
  }

  /** @internal drops L1 entries whose full key matches (a backplane message); returns how many */
  dropLocalWhere(matchesFullKey: (fullKey: string) => boolean): number {
    return this.#removeWhere((key) => matchesFullKey(this.fullKey(key)));
  }

  /**
   * Loads keys ahead of traffic (cold starts): runs every loader at once and stores each result,
   * replacing what was cached. A failing loader does not stop the others: it is listed in `failed`; a
   * loader whose value is not stored (`uncached()`, refused by `shouldCache` or `cacheNullish`) is listed
   * in `skipped`, not in `loaded`.
   *
   * @example
   * await config.warmup({ 'config:app': loadAppConfig, 'feature-flags': loadFlags });
   */
  async warmup(
    loaders: Record<string, () => V | Uncached<V> | PromiseLike<V | Uncached<V>>>,
    options?: LoadOptions<V>,
  ): Promise<WarmupResult> {
    if (typeof loaders !== 'object' || loaders === null) {
      throw new TypeError(`\`warmup\` takes an object of { key: loader }, got ${describe(loaders)}`);
    }
    const entries = Object.entries(loaders);
    for (const [key, loader] of entries) {
      if (typeof loader !== 'function') {
        throw new TypeError(`the warmup loader for \`${key}\` must be a function, got ${describe(loader)}`);
      }
    }
    const policy = this.#policyFor(options, LOAD_OPTIONS, 'warmup');
    const result: WarmupResult = { loaded: [], skipped: [], failed: [] };
    await Promise.all(
      entries.map(([key, loader]) => {
        const before = this.#l1.peek(key);
        // A warm-up is not traffic: it loads without counting misses or emitting CACHE_MISS.
        return this.#load(key, policy, callLoader, loader, undefined, null, false, true).promise.then(
          () => {
            // Stored means a new entry now holds the key (a warm-up always writes a fresh one).
            const after = this.#l1.peek(key);
            (after !== undefined && after !== before ? result.loaded : result.skipped).push(key);
          },
          (error: unknown) => void result.failed.push({ key, error }),
        );
      }),
    );
    return result;
  }

  /**
   * A DataLoader-style loader over this scope: `load(key)` calls made within `windowMs` (or until
   * `maxBatchSize` keys) are answered by one call of `batchFn`; keys with a fresh value never reach it.
   *
   * @example
   * const users = cache.scope('users').batchLoader(async (ids: string[]) => db.users.findMany(ids));
   * const [a, b] = await Promise.all([users.load('1'), users.load('2')]); // one query
   */
  batchLoader<K = string>(batchFn: BatchLoadFn<V, K>, options?: BatchLoaderOptions<V>): BatchLoader<V, K> {
    return new BatchLoader<V, K>(this, batchFn, options);
  }

  /**
   * Removes every entry past its fail-safe window. Expired entries otherwise leave lazily, when read or
   * evicted, and count in `size` until then. Resolves to how many were removed.
   */
  prune(): Promise<number> {
    const now = this.#host.clock.now();
    let removed = 0;
    for (const [key, entry] of [...this.#l1.entries()]) {
      if (now >= entry.staleUntil) {
        this.#drop(key, entry);
        removed++;
      }
    }
    return Promise.resolve(removed);
  }

  /** @internal resolves once every load in progress has settled */
  async settled(): Promise<void> {
    while (this.#flights.size > 0) await Promise.allSettled([...this.#flights.values()].map((f) => f.promise));
  }

  /** @internal counts a failed shared-layer operation of this scope */
  countL2Error(): void {
    this.#l2Errors++;
  }

  /** @internal true while this scope's or the cache's listeners would receive an event of `type` */
  wants(type: CacheEventName): boolean {
    return this.#wants(type);
  }

  /** @internal delivers an event of the cache about this scope */
  emitEvent(event: CacheEvent): void {
    this.#emit(event);
  }

  /** Loads in progress (0 once every load has settled). */
  get pendingLoads(): number {
    return this.#flights.size;
  }

  /** Entries held now. */
  get size(): number {
    return this.#l1.size;
  }

  /** Local keys, the next to be evicted first. */
  keys(): string[] {
    return [...this.#l1.keys()];
  }

  /** This scope's counters. */
  stats(): CacheStats {
    const lookups = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      hitRate: lookups === 0 ? 0 : this.#hits / lookups,
      size: this.#l1.size,
      maxSize: this.maxSize,
      staleHits: this.#staleHits,
      loads: this.#loads,
      loadErrors: this.#loadErrors,
      evictions: this.#evictions,
      l2Hits: this.#l2Hits,
      l2Errors: this.#l2Errors,
    };
  }

  /** Sets every counter back to zero (entries stay). */
  resetStats(): void {
    this.#hits = this.#misses = this.#staleHits = this.#loads = this.#loadErrors = this.#evictions = 0;
    this.#l2Hits = this.#l2Errors = 0;
  }

  /**
   * @internal drops every entry carrying one of `tags`, and the entry whose full key equals one of them
   * (tagged or not); returns how many
   */
  dropTags(tags: readonly string[]): number {
    this.#invalidations++;
    let dropped = 0;
    for (const tag of tags) {
      // The entry whose full key is the tag, however it was written (a lookup: the index holds no self-tags).
      const own = this.localKey(tag);
      if (own !== undefined && this.removeSync(own)) dropped++;
      // The entry whose local key is the tag and that carries it (what a `key` template tags by default).
      if (this.#l1.peek(tag)?.tags.includes(tag) === true && this.removeSync(tag)) dropped++;
      const keys = this.#tagIndex.get(tag);
      if (keys === undefined) continue;
      for (const key of [...keys]) if (this.removeSync(key)) dropped++;
    }
    // A load in progress whose result would carry one of these tags must not store it.
    for (const [key, flight] of this.#flights) {
      if (flight.tags.length > 0 && flight.tags.some((tag) => tags.includes(tag))) this.#discardFlight(key);
    }
    return dropped;
  }

  /** @internal the local key of a full key, when it belongs to this scope's key space */
  localKey(fullKey: string): string | undefined {
    return fullKey.startsWith(this.#head) ? fullKey.slice(this.#head.length) : undefined;
  }

  #removeWhere(matches: (key: string) => boolean): number {
    this.#invalidations++;
    let removed = 0;
    for (const key of [...this.#l1.keys()]) if (matches(key) && this.removeSync(key)) removed++;
    for (const key of this.#flights.keys()) if (matches(key)) this.#discardFlight(key);
    return removed;
  }

  /** Counts a direct read as a hit or a miss, and emits the event. */
  #count(key: string, hit: boolean): void {
    if (hit) this.#hits++;
    else this.#misses++;
    if (this.#wants(hit ? 'CACHE_HIT' : 'CACHE_MISS')) {
      const now = this.#host.clock.now();
      this.#emit(hit ? cacheEvent.CACHE_HIT(this.name, this.fullKey(key), now) : cacheEvent.CACHE_MISS(this.name, this.fullKey(key), now));
    }
  }

  /** Writes a value to L1 under `policy`; returns its entry (`undefined` when not cacheable). */
  #setLocal(key: string, value: V, policy: Policy): CacheEntry | undefined {
    this.#discardFlight(key);
    const entry = this.#entryFor(value, policy, policy.tags);
    if (entry !== undefined) this.#write(key, entry);
    return entry;
  }

  #fresh(key: string, touch: boolean): CacheEntry | undefined {
    const entry = touch ? this.#l1.get(key) : this.#l1.peek(key);
    if (entry === undefined) return undefined;
    const now = this.#host.clock.now();
    if (now - entry.base < entry.expiry) return entry;
    if (now >= entry.staleUntil) this.#drop(key, entry);
    return undefined;
  }

  /**
   * Starts a load and registers it as the key's flight. Without an L2: run the factory. With one: a fresh
   * L2 entry answers (unless `force`), else the factory runs (under the distributed lock when asked) and
   * its entry goes to the L2 before the load resolves; a stale L2 entry rescues a failing factory.
   */
  #load<A, B>(
    key: string,
    policy: Policy,
    invoke: Invoke<V, A, B>,
    a: A,
    b: B,
    tagsOf: TagsOf<B>,
    background: boolean,
    force: boolean,
  ): Flight<unknown> {
    const clock = this.#host.clock;
    const started = clock.now();
    // A forced reload supersedes a load already running: only the newest may store its result. (Otherwise
    // there is none: read() and refresh-ahead start a load only when no flight runs.)
    if (force) this.#discardFlight(key);
    let result: Promise<unknown> | undefined;
    let tags = policy.tags;
    try {
      if (tagsOf !== null) tags = mergeTags(policy.tags, tagsOf(b));
    } catch (error) {
      this.#loads++; // a tag template the call cannot fill fails the load before its loader, not the store
      result = Promise.reject(error);
    }
    // The flight exists before its work starts: the shared path asks it whether it was discarded.
    const flight: Flight<unknown> = { discard: false, background, detached: false, ran: false, tags, promise: STARTING };
    if (result === undefined) {
      try {
        if (this.#host.shared === undefined) {
          this.#loads++;
          flight.ran = true;
          result = Promise.resolve(invoke(a, b));
        } else {
          // Only the loader's run is a load: a fresh L2 entry that answers first is an L2 hit.
          const run = () => {
            this.#loads++;
            flight.ran = true;
            return invoke(a, b);
          };
          result = this.#loadShared(key, policy, run, tags, force, () => flight.discard);
        }
      } catch (error) {
        result = Promise.reject(error);
      }
    }
    // Settling a flight removes it (before the handlers return: a later call reads L1 instead of joining).
    const settle = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.promise = result.then(
      (value) => {
        settle();
        // A stale L2 value that rescued a failed factory was reported as CACHE_LOAD_ERROR already.
        if (flight.ran && !(value instanceof Rescued) && this.#wants('CACHE_LOAD')) {
          const now = clock.now();
          this.#emit(cacheEvent.CACHE_LOAD(this.name, this.fullKey(key), now, now - started, flight.background));
        }
        if (value instanceof Uncached) return value.value as V;
        // A detached load that comes back late fills the key only if nothing newer holds it.
        if (flight.detached && !flight.discard && (this.#flights.has(key) || this.#fresh(key, false) !== undefined)) {
          flight.discard = true;
        }
        if (value instanceof Loaded) {
          if (!flight.discard && value.entry !== undefined) this.#write(key, value.entry);
        } else if (!flight.discard) {
          const entry = this.#entryFor(value as V, policy, flight.tags);
          if (entry !== undefined) this.#write(key, entry);
        }
        if (!flight.discard && flight.background && this.#wants('CACHE_REFRESH')) {
          const now = clock.now();
          this.#emit(cacheEvent.CACHE_REFRESH(this.name, this.fullKey(key), now, now - started));
        }
        return (value instanceof Loaded ? value.value : value) as V;
      },
      (error: unknown) => {
        settle();
        this.#failed(key, policy, error, started, flight.background);
        throw error;
      },
    );
    // Nobody awaits a background refresh: its failure must not reject unhandled. (A caller awaits every
    // other flight, or #guard races it, which handles it.)
    if (background) flight.promise.catch(ignoreRejection);
    this.#flights.set(key, flight);
    return flight;
  }

  /** Counts and reports a factory failure, and throttles a stale L1 entry that fail-safe may serve. */
  #failed(key: string, policy: Policy, error: unknown, started: number, background: boolean): void {
    const now = this.#host.clock.now();
    this.#loadErrors++;
    if (this.#wants('CACHE_LOAD_ERROR')) {
      this.#emit(cacheEvent.CACHE_LOAD_ERROR(this.name, this.fullKey(key), now, now - started, error, background));
    }
    const entry = this.#l1.peek(key);
    if (entry !== undefined && now >= entry.freshUntil && now < entry.staleUntil) {
      this.#throttled.set(entry, Math.min(now + policy.failSafeThrottle, entry.staleUntil));
    }
  }

  async #loadShared(
    key: string,
    policy: Policy,
    factory: () => unknown,
    tags: readonly string[],
    force: boolean,
    discarded: () => boolean,
  ): Promise<unknown> {
    const shared = this.#host.shared as SharedLayer;
    const full = this.fullKey(key);
    // The write's stamp: a value loaded from here on cannot replace, in the L2, one written after this.
    const stamp = this.#host.clock.now();
    let stale: StoredEntry | undefined;
    if (!force) {
      const stored = await shared.get(this.name, full);
      const fresh = this.#freshStored(stored, full, policy);
      if (fresh !== undefined) return fresh;
      if (stored !== undefined && this.#host.clock.now() < stored.staleUntil) stale = stored;
    }
    // Runs the factory and, unless the key was written or invalidated meanwhile, writes its entry to
    // the L2 before answering: waiters in other processes read it from there.
    const produce = async (): Promise<unknown> => {
      const value: unknown = await factory();
      if (value instanceof Uncached) return value;
      const entry = this.#entryFor(value as V, policy, tags);
      if (entry !== undefined && !discarded()) await shared.set(this.name, [[full, toStored(entry, stamp)]]);
      return new Loaded(value, entry);
    };
    try {
      return policy.distributedLock ? await this.#underLock(full, policy, produce) : await produce();
    } catch (error) {
      const now = this.#host.clock.now();
      if (stale === undefined || now >= stale.staleUntil) throw error;
      // This process had nothing in L1, but the L2 still holds a value inside its fail-safe window.
      this.#failed(key, policy, error, now, false);
      const entry = this.#fromStored(stale, policy);
      this.#throttled.set(entry, Math.min(now + policy.failSafeThrottle, stale.staleUntil));
      this.#write(key, entry);
      this.#staleHits++;
      if (this.#wants('CACHE_STALE_HIT')) this.#emit(cacheEvent.CACHE_STALE_HIT(this.name, full, now, 'error', error));
      return new Rescued(stale.value);
    }
  }

  /**
   * Distributed single-flight: the lock holder produces the value (its lock renewed meanwhile, see
   * SharedLayer.tryLock); the others poll the L2 with backoff and retry the lock, until the value appears
   * or they take the lock (it freed, or a crashed holder's expired); past `lockWaitTimeout` they produce
   * it themselves rather than wait forever. A lock that fails (Redis down) is skipped.
   */
  async #underLock(full: string, policy: Policy, produce: () => Promise<unknown>): Promise<unknown> {
    const shared = this.#host.shared as SharedLayer;
    const clock = this.#host.clock;
    const deadline = clock.now() + policy.lockWaitTimeout;
    let release = await shared.tryLock(this.name, full, policy.lockTimeout);
    let wait = 5;
    while (release === undefined) {
      const now = clock.now();
      if (now >= deadline) return produce();
      await sleep(Math.min(wait, deadline - now));
      wait = Math.min(wait * 2, 250);
      const fresh = this.#freshStored(await shared.get(this.name, full), full, policy);
      if (fresh !== undefined) return fresh;
      release = await shared.tryLock(this.name, full, policy.lockTimeout);
    }
    if (release === 'unavailable') return produce();
    try {
      // The previous holder may have written the value just before we took the lock.
      const fresh = this.#freshStored(await shared.get(this.name, full), full, policy);
      return fresh ?? (await produce());
    } finally {
      await release();
    }
  }

  /** A fresh L2 entry as a load's answer (counted and reported as an L2 hit), else `undefined`. */
  #freshStored(stored: StoredEntry | undefined, full: string, policy: Policy): Loaded | undefined {
    if (stored === undefined) return undefined;
    const now = this.#host.clock.now();
    if (now >= stored.freshUntil) return undefined;
    this.#l2Hits++;
    if (this.#wants('CACHE_L2_HIT')) this.#emit(cacheEvent.CACHE_L2_HIT(this.name, full, now));
    return new Loaded(stored.value, this.#fromStored(stored, policy));
  }

  /** An L1 entry with an L2 entry's timeline; refresh-ahead is placed from this scope's TTL. */
  #fromStored(stored: StoredEntry, policy: Policy): CacheEntry {
    const ttl = typeof policy.ttl === 'number' ? policy.ttl : Number.POSITIVE_INFINITY;
    const refreshAt =
      policy.refreshAhead > 0 && ttl !== Number.POSITIVE_INFINITY && stored.freshUntil !== Number.POSITIVE_INFINITY
        ? stored.freshUntil - ttl * (1 - policy.refreshAhead)
        : Number.POSITIVE_INFINITY;
    return cacheEntry(this.#keep(stored.value), stored.freshUntil, stored.staleUntil, refreshAt, stored.tags);
  }

  /** Applies fail-safe and soft / hard timeouts to one caller's wait for a load. */
  #guard(key: string, flight: Flight<unknown>, stale: CacheEntry | undefined, policy: Policy, started: number): Promise<V> {
    const clock = this.#host.clock;
    return new Promise<V>((resolve, reject) => {
      let done = false;
      let soft: ReturnType<typeof setTimeout> | undefined;
      let hard: ReturnType<typeof setTimeout> | undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        if (soft !== undefined) clearTimeout(soft);
        if (hard !== undefined) clearTimeout(hard);
        return true;
      };
      const serveStale = (entry: CacheEntry, reason: StaleReason, error?: unknown) => {
        this.#staleHits++;
        if (this.#wants('CACHE_STALE_HIT')) {
          this.#emit(cacheEvent.CACHE_STALE_HIT(this.name, this.fullKey(key), clock.now(), reason, error));
        }
        resolve(entry.value as V);
      };
      const timedOut = (timeout: 'soft' | 'hard') => {
        // The load goes on without this caller: when it completes, it is a background refresh.
        flight.background = true;
        const now = clock.now();
        if (this.#wants('CACHE_TIMEOUT')) {
          this.#emit(cacheEvent.CACHE_TIMEOUT(this.name, this.fullKey(key), now, now - started, timeout));
        }
      };
      flight.promise.then(
        (value) => {
          if (finish()) resolve(value as V);
        },
        (error: unknown) => {
          if (!finish()) return;
          if (stale !== undefined && clock.now() < stale.staleUntil) serveStale(stale, 'error', error);
          else reject(error);
        },
      );
      if (stale !== undefined && policy.softTimeout !== Number.POSITIVE_INFINITY) {
        soft = setTimeout(() => {
          if (!finish()) return;
          timedOut('soft');
          serveStale(stale, 'soft-timeout');
        }, policy.softTimeout);
      }
      if (policy.hardTimeout !== Number.POSITIVE_INFINITY) {
        hard = setTimeout(() => {
          if (!finish()) return;
          timedOut('hard');
          // The load has outlived its bound: the key stops waiting for it, the next caller loads afresh.
          if (this.#flights.get(key) === flight) {
            this.#flights.delete(key);
            flight.detached = true;
          }
          if (stale !== undefined) serveStale(stale, 'hard-timeout');
          else reject(new CacheTimeoutError(this.fullKey(key), this.name, policy.hardTimeout));
        }, policy.hardTimeout);
      }
    });
  }

  /** The entry a value gets under `policy`, or `undefined` when it is not to be cached. */
  #entryFor(value: V, policy: Policy, tags: readonly string[]): CacheEntry | undefined {
    if (value === null || value === undefined) {
      if (!policy.cacheNullish) return undefined;
    }
    if (policy.shouldCache !== null && !policy.shouldCache(value)) return undefined;
    const now = this.#host.clock.now();
    const ttl = ttlFor(policy, value);
    // Jitter in whole ms keeps an expiry that is a whole number of ms one (the compact entry form).
    const freshUntil =
      ttl === Number.POSITIVE_INFINITY ? ttl : now + ttl + (policy.jitter > 0 ? Math.round(Math.random() * policy.jitter) : 0);
    const refreshAt =
      policy.refreshAhead > 0 && ttl !== Number.POSITIVE_INFINITY ? now + ttl * policy.refreshAhead : Number.POSITIVE_INFINITY;
    return cacheEntry(this.#keep(value), freshUntil, policy.failSafe === 0 ? freshUntil : freshUntil + policy.failSafe, refreshAt, tags);
  }

  /** The form in which this scope keeps a value it stores (see {@link Isolation}). */
  #keep(value: unknown): unknown {
    if (this.isolation === 'none') return value;
    return this.#cloning ? structuredClone(value) : deepFreeze(value);
  }

  #write(key: string, entry: CacheEntry): void {
    const previous = this.#l1.set(key, entry);
    if (previous !== undefined && previous.tags.length > 0) this.#unindex(key, previous.tags);
    if (entry.tags.length === 0) return;
    // A tag equal to the entry's own local key (what a `key` template tags by default) or full key is not
    // indexed: dropTags finds that entry by its key. The index would cost a Set and a map slot per entry.
    const self = this.#head + key;
    for (const tag of entry.tags) {
      if (tag === key || tag === self) continue;
      let keys = this.#tagIndex.get(tag);
      if (keys === undefined) this.#tagIndex.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  #drop(key: string, entry: CacheEntry): void {
    this.#l1.delete(key);
    if (entry.tags.length > 0) this.#unindex(key, entry.tags);
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#tagIndex.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.#tagIndex.delete(tag);
    }
  }

  /**
   * The key's running load (if any) will not store its result, and the key stops waiting for it: its
   * callers still get its answer, the next caller starts a fresh load.
   */
  #discardFlight(key: string): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    flight.discard = true;
    this.#flights.delete(key);
  }

  /** Whether an event of `type` would reach a listener of this scope or of the cache: build it only then. */
  #wants(type: CacheEventName): boolean {
    return (this.#bus.active && this.#bus.wants(type)) || (this.#host.bus.active && this.#host.bus.wants(type));
  }

  #emit(event: CacheEvent): void {
    if (this.#bus.wants(event.type)) this.#bus.emit(event);
    if (this.#host.bus.wants(event.type)) this.#host.bus.emit(event);
  }
}

const cloneValue = <T>(value: T): T => structuredClone(value);

/** The answer of a load whose factory failed but a stale L2 value rescued: returned, not stored, no CACHE_LOAD. */
class Rescued<T> extends Uncached<T> {}

function toStored(entry: CacheEntry, stamp?: number): StoredEntry {
  const stored = { value: entry.value, freshUntil: entry.freshUntil, staleUntil: entry.staleUntil, tags: entry.tags };
  return stamp === undefined ? stored : { ...stored, stamp };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mergeTags(base: readonly string[], more: readonly string[]): readonly string[] {
  if (more.length === 0) return base;
  if (base.length === 0) return more;
  return [...new Set([...base, ...more])];
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`a cache key must be a string, got ${describe(key)}: use makeKey(...parts) to build one`);
  }
}
