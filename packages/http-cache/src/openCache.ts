import { Cache } from '@toolkit/cache';
import type { CacheOptions } from '@toolkit/cache';

/** The cache an integration uses, and whether it is the integration's to close. */
export interface OpenedCache {
  readonly cache: Cache;
  /** Made here (so closed by the integration by default), rather than given. */
  readonly owned: boolean;
  /** Closes the cache, and the Redis connections `createCache()` opened for it. */
  close(): Promise<void>;
}

/**
 * The cache of a framework integration: `given` when it is a `Cache`; a new `Cache(given)` when it is
 * options; else, when `env` names a backend (`CACHE_URL` or `REDIS_URL`), the cache `createCache(env)`
 * of `@toolkit/cache-redis` makes (an optional peer dependency, loaded only then); else a new in-memory
 * `Cache`.
 */
export async function openCache(given: Cache | CacheOptions | undefined, env: Record<string, string | undefined> | false): Promise<OpenedCache> {
  if (given instanceof Cache || isCacheLike(given)) return { cache: given, owned: false, close: () => given.close() };
  if (given !== undefined) {
    const cache = new Cache(given);
    return { cache, owned: true, close: () => cache.close() };
  }
  if (env !== false && (env.CACHE_URL ?? env.REDIS_URL) !== undefined) {
    let redis: typeof import('@toolkit/cache-redis');
    try {
      redis = await import('@toolkit/cache-redis');
    } catch (error) {
      throw new Error('CACHE_URL (or REDIS_URL) is set: install @toolkit/cache-redis to use it, or pass `env: false`', { cause: error });
    }
    const handle = redis.createCache(env);
    return { cache: handle.cache, owned: true, close: () => handle.close() };
  }
  const cache = new Cache();
  return { cache, owned: true, close: () => cache.close() };
}

/** A Cache from another installed copy of @toolkit/cache. */
function isCacheLike(value: unknown): value is Cache {
  return typeof value === 'object' && value !== null && typeof (value as Cache).scope === 'function' && typeof (value as Cache).invalidateTags === 'function';
}
