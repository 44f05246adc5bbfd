import { CacheError, isCacheError } from './CacheError';

/** The atomic operations of a scope. */
export type AtomicOperation = 'setIfAbsent' | 'incr';

/**
 * `setIfAbsent` or `incr` could not get an answer from the L2 that holds across processes: the store
 * failed (unreachable, circuit breaker open, timeout, a key of the wrong type in Redis…). Nothing was
 * written to L1. `cause` is the store's error. Answering from this process's memory instead would let two
 * processes both win `setIfAbsent`, or both count from 1; the Cache option `atomicFallback: 'local'`
 * asks for that answer instead of this error.
 */
export class CacheAtomicError extends CacheError {
  /** The operation that could not be answered. */
  readonly operation: AtomicOperation;

  constructor(operation: AtomicOperation, key: string, scope: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('E_CACHE_ATOMIC', `\`${operation}\` of \`${key}\` in scope \`${scope}\` has no answer that holds across processes: the L2 failed (${reason})`, {
      key,
      scope,
      cause,
    });
    this.name = 'CacheAtomicError';
    this.operation = operation;
  }
}

/** True for a {@link CacheAtomicError} (from any installed copy of this package). */
export function isCacheAtomicError(error: unknown): error is CacheAtomicError {
  return isCacheError(error) && error.code === 'E_CACHE_ATOMIC';
}
