const brand = Symbol.for('@toolkit/cache/CacheError');

/**
 * Base class of the cache's runtime errors. `code` is stable across versions; `isCacheError()` works
 * even when two copies of this package are installed (it checks a global brand, not `instanceof`).
 */
export class CacheError extends Error {
  /** A stable code such as `'E_CACHE_TIMEOUT'`. */
  readonly code: string;
  /** The cache key involved, when there is one. */
  readonly key: string | undefined;
  /** The scope involved, when there is one. */
  readonly scope: string | undefined;
  readonly [brand] = true;

  constructor(code: string, message: string, context: { key?: string; scope?: string; cause?: unknown } = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'CacheError';
    this.code = code;
    this.key = context.key;
    this.scope = context.scope;
  }
}

/** True for any error thrown by `@toolkit/cache` (from any installed copy). */
export function isCacheError(error: unknown): error is CacheError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}
