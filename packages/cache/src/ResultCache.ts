import { Cache } from './Cache';
import type { CacheScope } from './CacheScope';
import { deriveKey } from './keys/deriveKey';
import type { EntryOptions, ScopeOptions } from './options/CacheOptions';

/** `resultCache.stats`: the counters of seed-style direct use. */
export interface ResultCacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  size: number;
  maxSize: number;
}

/**
 * A key built from parts, type-safe like derived keys: `makeKey('user', 42)` and `makeKey('user', '42')`
 * differ.
 */
export function makeKey(...parts: unknown[]): string {
  return deriveKey(parts, 0, 'makeKey');
}

/**
 * Direct, synchronous use of one in-memory scope, for code that wants a plain result cache rather than
 * a wrapper: `put`, `get`, `invalidate`, `clear`, `stats`. A thin layer over a {@link CacheScope}
 * (same LRU bound, TTL and counters), not a second cache.
 *
 * @example
 * const results = new ResultCache({ maxSize: 100, ttl: '1m' });
 * const key = ResultCache.makeKey('user', 42);
 * results.put(key, { name: 'Alice' });
 * results.get(key); // { name: 'Alice' }
 * results.stats; // { hits: 1, misses: 0, hitRate: 1, size: 1, maxSize: 100 }
 */
export class ResultCache<V = unknown> {
  /** See {@link makeKey}. */
  static makeKey = makeKey;

  /** The scope underneath, for everything else (events, `getOrSet`, tags). */
  readonly scope: CacheScope<V>;

  constructor(options: ScopeOptions<V> = {}) {
    this.scope = new Cache().scope<V>('results', options);
  }

  /** Stores a value (options apply to this entry only). */
  put(key: string, value: V, options?: EntryOptions<V>): void {
    this.scope.setSync(key, value, options);
  }

  /** The fresh value, or `undefined`. Counts a hit or a miss. */
  get(key: string): V | undefined {
    return this.scope.getSync(key);
  }

  /** Removes one key; returns whether it was there. */
  invalidate(key: string): boolean {
    return this.scope.removeSync(key);
  }

  /** Removes every entry. */
  clear(): void {
    void this.scope.clear();
  }

  get stats(): ResultCacheStats {
    const { hits, misses, hitRate, size, maxSize } = this.scope.stats();
    return { hits, misses, hitRate, size, maxSize };
  }
}
