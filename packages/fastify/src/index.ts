export { toolkitCache } from './plugin';
export type { FastifyInvalidate, FastifyRouteCache, ToolkitCacheOptions } from './options';
export { errorResponse } from '@toolkit/http-cache';
export type { CacheStatus, ErrorResponseOptions, ResponseCache, RouteCacheOptions, VaryOptions } from '@toolkit/http-cache';
