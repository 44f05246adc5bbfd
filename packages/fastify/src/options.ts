import type { Cache, CacheOptions } from '@toolkit/cache';
import { checkIntegrationOptions } from '@toolkit/http-cache';
import type { ErrorResponseOptions, ResponseCacheOptions, RouteCacheOptions } from '@toolkit/http-cache';
import type { FastifyRequest } from 'fastify';

/** A route's response caching: `true` for the plugin's defaults, or options. */
export type FastifyRouteCache = true | RouteCacheOptions<FastifyRequest>;

/** Tags a write route drops once it answered 2xx: strings with `{param}` placeholders, or a function of the request. */
export type FastifyInvalidate = readonly string[] | ((request: FastifyRequest) => readonly string[]);

/** Options of the {@link toolkitCache} plugin. */
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
  /** Close the cache (and its Redis connections) in `onClose`. @default true for a cache the plugin made, false for yours */
  closeCache?: boolean;
  /**
   * Answer errors of `resilient()` thrown by any route (open circuit, full bulkhead, rate limit: 503;
   * timeout: 504) with `Retry-After` where known, whatever the error handler sent; `false` leaves them
   * to your error handler (use `errorResponse()` there).
   * @default true
   */
  errors?: boolean | ErrorResponseOptions;
}

/** register()'s own options, which Fastify hands to the plugin too. */
const REGISTER_OPTIONS = { prefix: true, logLevel: true, logSerializers: true } as const;

/**
 * Refuses an option name that is not one (`tll`), with the closest valid name, before any cache or
 * connection is made.
 * @internal
 */
export function checkToolkitCacheOptions(options: object): void {
  checkIntegrationOptions(options, '@toolkit/fastify', REGISTER_OPTIONS);
}
