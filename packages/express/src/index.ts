export { toolkitCache } from './toolkitCache';
export type { ExpressInvalidate, ToolkitCache, ToolkitMiddleware } from './toolkitCache';
export type { ToolkitCacheOptions } from './options';
export { errorResponse } from '@toolkit/http-cache';
export type { CacheStatus, ErrorResponseOptions, ResponseCache, RouteCacheOptions, VaryOptions } from '@toolkit/http-cache';
