/** Metadata key of `@CacheResponse()`: the route's `RouteCacheOptions`. @internal */
export const CACHE_RESPONSE = Symbol.for('@toolkit/nestjs:cache-response');

/** Metadata key of `@InvalidateTags()`: the tags a write route drops. @internal */
export const INVALIDATE_TAGS = Symbol.for('@toolkit/nestjs:invalidate-tags');
