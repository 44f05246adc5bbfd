import type { IncomingMessage } from 'node:http';
import { SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import type { RouteCacheOptions } from '@toolkit/http-cache';
import { CACHE_RESPONSE } from './metadata';
import { ToolkitCacheInterceptor } from './ToolkitCacheInterceptor';

/**
 * Caches the responses of a route (or of every GET/HEAD route of a controller) through the module's
 * `ResponseCache`: `X-Cache: HIT|MISS|STALE`, `Age`, `Cache-Control: max-age`, `ETag` and 304 on
 * `If-None-Match`, one handler run for concurrent identical requests. Options not given fall back to
 * the module's. Applies {@link ToolkitCacheInterceptor} itself.
 *
 * @typeParam Req the request handed to function-valued `tags` (Express' `Request` on platform-express)
 * @example
 * \@Get(':id')
 * \@CacheResponse({ ttl: '30s', tags: ['item:{id}'], vary: { headers: ['accept-language'] } })
 * find(@Param('id') id: string) { return this.items.find(id); }
 */
export function CacheResponse<Req = IncomingMessage>(options: RouteCacheOptions<Req> = {}): MethodDecorator & ClassDecorator {
  if (options === null || typeof options !== 'object') throw new TypeError('the options of `@CacheResponse()` must be an object');
  return applyDecorators(SetMetadata(CACHE_RESPONSE, options), UseInterceptors(ToolkitCacheInterceptor));
}
