import { CacheError, isCacheError } from './CacheError';

/**
 * A batch loader broke its contract for one key: it returned an array of the wrong length, or no
 * value for a key it was asked for.
 */
export class BatchLoadError extends CacheError {
  constructor(message: string, context: { key?: string; scope?: string } = {}) {
    super('E_CACHE_BATCH_LOAD', message, context);
    this.name = 'BatchLoadError';
  }
}

/** True for a {@link BatchLoadError} (from any installed copy of this package). */
export function isBatchLoadError(error: unknown): error is BatchLoadError {
  return isCacheError(error) && error.code === 'E_CACHE_BATCH_LOAD';
}
