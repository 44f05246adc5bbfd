export { ResponseCache, stripConditionals } from './ResponseCache';
export type { CacheStatus, CapturedResponse, HttpRequest, HttpResponse, Lead, Lookup, StoredResponse } from './ResponseCache';
export type { ResponseCacheOptions, RouteCacheOptions, VaryOptions } from './ResponseCacheOptions';
export { errorResponse } from './errorResponse';
export type { ErrorResponseOptions } from './errorResponse';
export { parseCacheControl } from './cacheControl';
export { ifNoneMatch } from './etag';
export type { HeaderBag, RequestHeaders, StoredHeaders } from './headers';
