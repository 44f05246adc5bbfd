import type { Cache, CacheOptions } from '@toolkit/cache';
import { checkIntegrationOptions } from '@toolkit/http-cache';
import type { ErrorResponseOptions, ResponseCacheOptions } from '@toolkit/http-cache';
import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';

/** The module's options: the cache, and the defaults of every `@CacheResponse()` route. */
export interface ToolkitCacheModuleOptions extends ResponseCacheOptions {
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
  /** Close the cache (and its Redis connections) on application shutdown. @default true for a cache the module made, false for yours */
  closeCache?: boolean;
  /**
   * Answer errors of `resilient()` thrown by any route (open circuit, full bulkhead, rate limit: 503;
   * timeout: 504) with `Retry-After` where known, through the global {@link ToolkitErrorsFilter}; `false`
   * leaves them to your filters (use `errorResponse()` of `@toolkit/http-cache` there).
   * @default true
   */
  errors?: boolean | ErrorResponseOptions;
}

/** Options of {@link ToolkitCacheModule.forRoot}: the module's options, and whether it is global. */
export interface ToolkitCacheRootOptions extends ToolkitCacheModuleOptions {
  /** Register the module globally: every module can inject the cache without importing it. @default false */
  global?: boolean;
}

/** Options of {@link ToolkitCacheModule.forRootAsync}: the module's options made by a provider factory. */
export interface ToolkitCacheModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Makes the options, from the providers listed in `inject`. */
  useFactory: (...args: never[]) => ToolkitCacheModuleOptions | Promise<ToolkitCacheModuleOptions>;
  /** The providers handed to `useFactory`, in order. @default [] */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Register the module globally: every module can inject the cache without importing it. @default false */
  global?: boolean;
}

/**
 * Refuses an option name that is not one (`tll`), with the closest valid name, before any cache or
 * connection is made. `global` is taken out by `forRoot()` before this runs.
 * @internal
 */
export function checkModuleOptions(options: object): void {
  checkIntegrationOptions(options, 'ToolkitCacheModule');
}
