const brand = Symbol.for('@toolkit/cache-redis/RedisConnectionError');

/**
 * Redis could not be reached for a reason the connection itself gave: refused, DNS, TLS (a certificate
 * that does not verify, a TLS client on a plain port), authentication (`WRONGPASS`, `NOAUTH`). `ping()`
 * rejects with it, naming that reason, where the operation alone would only say "timed out" or "max
 * retries per request". `cause` is the connection's error (its message never holds the password: it is
 * replaced by `***`); `operationError` is what the operation itself failed with.
 */
export class RedisConnectionError extends Error {
  /** A stable code: `'E_REDIS_CONNECTION'`. */
  readonly code = 'E_REDIS_CONNECTION';
  /** The operation that failed because of it (`'ping'`), or `undefined` for an error of the connection alone. */
  readonly operation: string | undefined;
  /** The operation's own error (a timeout, an open circuit, max retries), when there was an operation. */
  readonly operationError: unknown;
  readonly [brand] = true;

  constructor(cause: Error, context: { operation?: string; operationError?: unknown } = {}) {
    const what = context.operation === undefined ? 'the Redis connection failed' : `\`${context.operation}\` failed: the Redis connection failed`;
    super(`${what}: ${cause.message}`, { cause });
    this.name = 'RedisConnectionError';
    this.operation = context.operation;
    this.operationError = context.operationError;
  }
}

/** True for a {@link RedisConnectionError} (from any installed copy of this package). */
export function isRedisConnectionError(error: unknown): error is RedisConnectionError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}
