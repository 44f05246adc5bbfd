import type { Cache, CacheOptions } from '@toolkit/cache';
import { checkIntegrationOptions } from '@toolkit/http-cache';
import type { ErrorResponseOptions, ResponseCacheOptions } from '@toolkit/http-cache';

/** Options of {@link toolkitCache}. */
export interface ToolkitCacheOptions extends ResponseCacheOptions {
  /**
   * The cache: an instance you made (you close it, unless `closeCache` says otherwise), or the options of
   * a new `Cache`. Omitted: made from `env` when it names a backend, else a new in-memory `Cache`.
   * @default undefined
   */
  cache?: Cache | CacheOptions;
  /**
   * Where `CACHE_URL` / `REDIS_URL` (and `CACHE_PREFIX`, `CACHE_VERSION`, `CACHE_TTL_DEFAULT`) are read
   * when no `cache` is given; `false` never reads them. A URL makes the cache with `createCache()` of
   * `@toolkit/cache-redis`, which must then be installed (it is an optional peer dependency).
   * @default process.env
   */
  env?: Record<string, string | undefined> | false;
  /** Close the cache (and its Redis connections) with the server. @default true for a cache made here, false for yours */
  closeCache?: boolean;
  /** How `errors()` answers errors of `resilient()`. @default {} */
  errors?: ErrorResponseOptions;
}

/**
 * Refuses an option name that is not one (`tll`), with the closest valid name, before any cache or
 * connection is made.
 * @internal
 */
export function checkToolkitCacheOptions(options: object): void {
  checkIntegrationOptions(options, 'toolkitCache()');
}
