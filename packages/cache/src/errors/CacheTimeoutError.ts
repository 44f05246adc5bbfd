import { CacheError, isCacheError } from './CacheError';

/**
 * The factory did not answer within `hardTimeout` and there was no stale value to fall back on.
 * The factory keeps running in the background; its result is stored when it completes.
 */
export class CacheTimeoutError extends CacheError {
  /** The `hardTimeout` that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(key: string, scope: string, timeoutMs: number) {
    super('E_CACHE_TIMEOUT', `loading \`${key}\` in scope \`${scope}\` took longer than hardTimeout (${timeoutMs} ms)`, {
      key,
      scope,
    });
    this.name = 'CacheTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** True for a {@link CacheTimeoutError} (from any installed copy of this package). */
export function isCacheTimeoutError(error: unknown): error is CacheTimeoutError {
  return isCacheError(error) && error.code === 'E_CACHE_TIMEOUT';
}
