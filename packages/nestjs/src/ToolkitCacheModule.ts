import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { Cache } from '@toolkit/cache';
import { ResponseCache, openCache } from '@toolkit/http-cache';
import type { OpenedCache } from '@toolkit/http-cache';
import { CacheLifecycle } from './CacheLifecycle';
import { RouteOptionsCheck } from './RouteOptionsCheck';
import { OPENED_CACHE, TOOLKIT_CACHE_OPTIONS } from './tokens';
import { ToolkitCacheInterceptor } from './ToolkitCacheInterceptor';
import { ToolkitErrorsFilter } from './ToolkitErrorsFilter';
import { checkModuleOptions } from './ToolkitCacheModuleOptions';
import type { ToolkitCacheModuleAsyncOptions, ToolkitCacheModuleOptions, ToolkitCacheRootOptions } from './ToolkitCacheModuleOptions';

/** The providers made from the options provider. */
const providers: Provider[] = [
  {
    provide: OPENED_CACHE,
    inject: [TOOLKIT_CACHE_OPTIONS],
    // forRootAsync's factory made these: checked here, before a cache is made (forRoot's, at once).
    useFactory: (options: ToolkitCacheModuleOptions): Promise<OpenedCache> => {
      checkModuleOptions(options);
      return openCache(options.cache, options.env ?? process.env);
    },
  },
  { provide: Cache, inject: [OPENED_CACHE], useFactory: (opened: OpenedCache) => opened.cache },
  {
    provide: ResponseCache,
    inject: [Cache, TOOLKIT_CACHE_OPTIONS],
    useFactory: (cache: Cache, options: ToolkitCacheModuleOptions) => {
      const { cache: _given, env: _env, closeCache: _close, errors: _errors, ...responseOptions } = options;
      return new ResponseCache(cache, responseOptions);
    },
  },
  CacheLifecycle,
  RouteOptionsCheck,
  ToolkitCacheInterceptor,
  { provide: APP_FILTER, useClass: ToolkitErrorsFilter },
];

const exported = [Cache, ResponseCache, ToolkitCacheInterceptor, TOOLKIT_CACHE_OPTIONS];

/**
 * The `@toolkit/cache` of a Nest application: provides the `Cache` (inject it by type, or with
 * `@InjectCache()`) and the `ResponseCache` of `@CacheResponse()` routes, waits for the cache on init and
 * closes it on application shutdown (`app.close()`; enable Nest's shutdown hooks for signals).
 *
 * @example
 * \@Module({ imports: [ToolkitCacheModule.forRoot({ ttl: '30s', global: true })] }) // CACHE_URL=redis://… for a Redis L2
 * export class AppModule {}
 */
@Module({})
export class ToolkitCacheModule {
  /** The module, with its options given here. */
  static forRoot(options: ToolkitCacheRootOptions = {}): DynamicModule {
    const { global = false, ...moduleOptions } = options;
    checkModuleOptions(moduleOptions);
    return {
      module: ToolkitCacheModule,
      global,
      imports: [DiscoveryModule],
      providers: [{ provide: TOOLKIT_CACHE_OPTIONS, useValue: moduleOptions }, ...providers],
      exports: exported,
    };
  }

  /** The module, with its options made by `useFactory` from the providers in `inject` (a config service). */
  static forRootAsync(options: ToolkitCacheModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new TypeError('`useFactory` of ToolkitCacheModule.forRootAsync() must be a function returning the module options');
    }
    const { imports = [], inject = [], useFactory, global = false } = options;
    return {
      module: ToolkitCacheModule,
      global,
      imports: [DiscoveryModule, ...imports],
      providers: [{ provide: TOOLKIT_CACHE_OPTIONS, inject, useFactory }, ...providers],
      exports: exported,
    };
  }
}
