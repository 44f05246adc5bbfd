// Each library memoizing one async function `load(id)` the way its docs recommend, behind one shape, so
// that every cache scenario runs the same workload through every library. Non-default options are noted.
import { cachified, totalTtl } from '@epic-web/cachified';
import type { Cache as CachifiedCache, CacheEntry as CachifiedEntry } from '@epic-web/cachified';
import { createCache as createDedupeCache } from 'async-cache-dedupe';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache as createCacheManager } from 'cache-manager';
import { Cacheable, CacheableMemory, KeyvCacheableMemory } from 'cacheable';
import { LRUCache } from 'lru-cache';
import pMemoize from 'p-memoize';
import QuickLRU from 'quick-lru';
import { Cache } from '@toolkit/cache';
import { resilient } from '@toolkit/core';

/** A memoized `load`: same argument, same answer. */
export type Memoized<V> = (id: number) => Promise<V>;

export interface MemoizerOptions {
  /** The bound on entries, where the library has one. */
  readonly maxSize: number;
  readonly ttlMs: number;
}

export interface Memoizer<V> {
  readonly name: string;
  readonly ours?: boolean;
  /** Options set away from the library's defaults, and why. */
  readonly note?: string;
  readonly call: Memoized<V>;
  /**
   * How many distinct keys the library holds now, where its store can be read (for scenarios that report
   * effective size). quick-lru is counted by iterating, because its `.size` is capped at `maxSize`.
   */
  readonly entries?: () => number;
  /** Releases timers and stores (some libraries keep an interval). */
  readonly close?: () => Promise<void> | void;
}

/** The names of every memoizer `memoizers()` returns, for scenarios that pick some. */
export const PEER = {
  oursResilient: 'ours: resilient({ cache, retry, circuitBreaker, timeout })',
  oursCached: 'ours: cache.cached(fn)',
  mapJson: 'baseline: Map + JSON.stringify(args)',
  mapPrefix: "baseline: Map + 'u:' + id",
  lruGetSet: 'lru-cache get/set',
  lruFetch: 'lru-cache fetch',
  quickLru: 'quick-lru get/set',
  pMemoize: 'p-memoize',
  asyncCacheDedupe: 'async-cache-dedupe',
  cachified: '@epic-web/cachified',
  bentocache: 'bentocache (memory)',
  cacheableMemory: 'cacheable CacheableMemory.wrap',
  cacheable: 'cacheable Cacheable.wrap',
  cacheManager: 'cache-manager 7 wrap',
} as const;

/**
 * Every library's memoized version of `load`, bounded to `maxSize` entries with a `ttlMs` TTL where the
 * library supports it.
 */
export function memoizers<V extends object>(load: (id: number) => Promise<V>, options: MemoizerOptions): Memoizer<V>[] {
  const { maxSize, ttlMs } = options;
  const list: Memoizer<V>[] = [];

  // Ours, as the hot-hit scenario wraps it: every layer on, the cache answering first.
  const toolkitCache = new Cache({ maxSize, ttl: ttlMs });
  const oursResilient = resilient({ cache: { maxSize, ttl: ttlMs }, retry: { maxAttempts: 3 }, circuitBreaker: {}, timeout: '1s' })(load);
  list.push({
    name: PEER.oursResilient,
    ours: true,
    call: oursResilient,
    entries: () => oursResilient.cache?.scope.stats().size ?? NaN,
  });
  const oursCached = toolkitCache.cached(load);
  list.push({ name: PEER.oursCached, ours: true, call: oursCached, entries: () => oursCached.scope.stats().size });

  // Baselines: an unbounded Map, no TTL, no single-flight.
  const json = new Map<string, V>();
  list.push({
    name: PEER.mapJson,
    entries: () => json.size,
    call: async (id) => {
      const key = JSON.stringify([id]);
      const hit = json.get(key);
      if (hit !== undefined) return hit;
      const value = await load(id);
      json.set(key, value);
      return value;
    },
  });
  const prefixed = new Map<string, V>();
  list.push({
    name: PEER.mapPrefix,
    entries: () => prefixed.size,
    call: async (id) => {
      const key = 'u:' + id;
      const hit = prefixed.get(key);
      if (hit !== undefined) return hit;
      const value = await load(id);
      prefixed.set(key, value);
      return value;
    },
  });

  // lru-cache: the hand-written memoize most services have, and its own fetch() (which dedupes).
  const lru = new LRUCache<number, V>({ max: maxSize, ttl: ttlMs });
  list.push({
    name: PEER.lruGetSet,
    entries: () => lru.size,
    call: async (id) => {
      const hit = lru.get(id);
      if (hit !== undefined) return hit;
      const value = await load(id);
      lru.set(id, value);
      return value;
    },
  });
  const fetching = new LRUCache<number, V>({ max: maxSize, ttl: ttlMs, fetchMethod: (id) => load(id) });
  list.push({ name: PEER.lruFetch, call: (id) => fetching.fetch(id) as Promise<V>, entries: () => fetching.size });

  const quick = new QuickLRU<number, V>({ maxSize, maxAge: ttlMs });
  list.push({
    name: PEER.quickLru,
    note: 'quick-lru holds up to 2 × maxSize entries (two generations)',
    entries: () => countKeys(quick),
    call: async (id) => {
      const hit = quick.get(id);
      if (hit !== undefined) return hit;
      const value = await load(id);
      quick.set(id, value);
      return value;
    },
  });

  // p-memoize: bounded with quick-lru, as its README recommends for a cache that must not grow forever.
  const pMemoizeCache = new QuickLRU<number, Awaited<V>>({ maxSize, maxAge: ttlMs });
  list.push({
    name: PEER.pMemoize,
    note: 'cache: a quick-lru of maxSize with maxAge (the README\'s way to bound it); the default is an unbounded Map',
    call: pMemoize(load, { cache: pMemoizeCache }),
    entries: () => countKeys(pMemoizeCache),
  });

  const dedupe = createDedupeCache({ ttl: Math.ceil(ttlMs / 1000), storage: { type: 'memory', options: { size: maxSize } } });
  const dedupeDefined = dedupe.define('load', (id: number) => load(id)) as unknown as { load: Memoized<V> };
  list.push({ name: PEER.asyncCacheDedupe, note: 'ttl in seconds (its unit)', call: (id) => dedupeDefined.load(id) });

  // cachified over lru-cache, with the adapter its README shows.
  const cachifiedLru = new LRUCache<string, CachifiedEntry>({ max: maxSize });
  const cachifiedCache: CachifiedCache = {
    set(key, value) {
      const ttl = totalTtl(value?.metadata);
      return cachifiedLru.set(key, value, { ttl: ttl === Infinity ? undefined : ttl, start: value?.metadata?.createdTime });
    },
    get: (key) => cachifiedLru.get(key),
    delete: (key) => cachifiedLru.delete(key),
  };
  list.push({
    name: PEER.cachified,
    note: 'over lru-cache with the adapter from its README',
    call: (id) => cachified({ key: `user-${id}`, cache: cachifiedCache, ttl: ttlMs, getFreshValue: () => load(id) }),
    entries: () => cachifiedLru.size,
  });

  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: maxSize })) },
  });
  list.push({
    name: PEER.bentocache,
    note: 'memory store only (memoryDriver with maxItems), getOrSet with a key per id',
    call: (id) => bento.getOrSet({ key: `user:${id}`, ttl: ttlMs, factory: () => load(id) }) as Promise<V>,
    close: () => bento.disconnectAll(),
  });

  const cacheableMemory = new CacheableMemory({ ttl: ttlMs, lruSize: maxSize, useClone: false });
  list.push({
    name: PEER.cacheableMemory,
    note: 'lruSize = maxSize; useClone: false, because its wrap stores the async function\'s promise, which the default structuredClone cannot clone',
    call: cacheableMemory.wrap(load, { ttl: ttlMs, keyPrefix: 'user' }) as Memoized<V>,
    entries: () => cacheableMemory.size,
  });
  const cacheable = new Cacheable({ ttl: ttlMs });
  list.push({
    name: PEER.cacheable,
    call: cacheable.wrap(load, { ttl: ttlMs, keyPrefix: 'user' }) as Memoized<V>,
    entries: () => (cacheable.primary.store instanceof KeyvCacheableMemory ? cacheable.primary.store.store.size : NaN),
  });

  const manager = createCacheManager({ ttl: ttlMs });
  list.push({
    name: PEER.cacheManager,
    note: 'the default in-memory keyv store (unbounded)',
    call: (id) => manager.wrap(`user:${id}`, () => load(id), ttlMs),
    entries: () => {
      const store: unknown = manager.stores[0]?.store;
      return store instanceof Map ? store.size : NaN;
    },
    close: () => manager.disconnect().then(() => undefined),
  });

  return list;
}

/** The distinct keys a quick-lru holds (its iterator skips old-generation copies shadowed by new ones). */
function countKeys(cache: QuickLRU<number, unknown>): number {
  return [...cache.keys()].length;
}
