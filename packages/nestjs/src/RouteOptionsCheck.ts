import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ResponseCache } from '@toolkit/http-cache';
import type { RouteCacheOptions } from '@toolkit/http-cache';
import { CACHE_RESPONSE } from './metadata';

/**
 * Checks the options of every `@CacheResponse()` of the application's controllers when the application
 * starts (`app.init()` / `app.listen()`), so that a bad one fails there, naming the route, rather than
 * on its first request. @internal
 */
@Injectable()
export class RouteOptionsCheck implements OnModuleInit {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ResponseCache) private readonly responses: ResponseCache<unknown>,
  ) {}

  onModuleInit(): void {
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as () => unknown;
        const route = this.reflector.getAllAndOverride<RouteCacheOptions<unknown> | undefined>(CACHE_RESPONSE, [handler, metatype]);
        if (route === undefined) continue;
        try {
          this.responses.check(route);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new (error instanceof RangeError ? RangeError : TypeError)(`@CacheResponse() of ${metatype.name}.${name}: ${message}`, { cause: error });
        }
      }
    }
  }
}
