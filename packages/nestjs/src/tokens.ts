/** The injection token of the module's {@link ToolkitCacheModuleOptions} (as given, or as `useFactory` made them). */
export const TOOLKIT_CACHE_OPTIONS = Symbol.for('@toolkit/nestjs:options');

/** The injection token of the module's `OpenedCache` (the cache, and whether the module closes it). @internal */
export const OPENED_CACHE = Symbol.for('@toolkit/nestjs:opened-cache');
