import { isCacheTimeoutError, toMs } from '@toolkit/cache';
import type { Duration } from '@toolkit/cache';
import { isBulkheadFullError, isCircuitOpenError, isRateLimitedError, isTimeoutError, retryAfterMs } from '@toolkit/core';
import type { HttpResponse } from './ResponseCache';

/** Options of {@link errorResponse}. */
export interface ErrorResponseOptions {
  /**
   * `Retry-After` for an open circuit whose error does not say when it half-opens (today's
   * `CircuitOpenError` does not): typically the breaker's `halfOpenAfter`. Omitted: no `Retry-After`.
   * @default undefined
   */
  circuitRetryAfter?: Duration;
  /** Add the error's `message` to the JSON body (leave off in production if messages may leak internals). @default true */
  exposeMessage?: boolean;
}

/** The names of {@link ErrorResponseOptions}. @internal */
export const ERROR_RESPONSE_OPTIONS: Record<keyof ErrorResponseOptions, true> = { circuitRetryAfter: true, exposeMessage: true };

/**
 * The HTTP answer for an error `resilient()` raised in a handler, or `undefined` for any other error (the
 * framework's own handling applies):
 *
 * | error | status | `Retry-After` |
 * | --- | --- | --- |
 * | `CircuitOpenError` | 503 | when it half-opens, if the error says (`retryAfterMs`), else `circuitRetryAfter` |
 * | `BulkheadFullError` | 503 | — |
 * | `RateLimitedError` | 503 | its `retryAfterMs` |
 * | `TimeoutError`, `CacheTimeoutError` | 504 | — |
 *
 * The body is JSON: `{ "error": "Service Unavailable", "code": "E_CIRCUIT_OPEN", "message": "…" }`.
 * `Retry-After` is in whole seconds, rounded up.
 */
export function errorResponse(error: unknown, options: ErrorResponseOptions = {}): HttpResponse | undefined {
  let status: 503 | 504;
  let retryMs: number | undefined;
  if (isCircuitOpenError(error)) {
    status = 503;
    const own = (error as { retryAfterMs?: unknown }).retryAfterMs;
    retryMs =
      typeof own === 'number' && Number.isFinite(own) && own >= 0
        ? own
        : (retryAfterMs(error) ?? (error.isolated || options.circuitRetryAfter === undefined ? undefined : toMs(options.circuitRetryAfter, 'circuitRetryAfter')));
  } else if (isRateLimitedError(error)) {
    status = 503;
    retryMs = error.retryAfterMs;
  } else if (isBulkheadFullError(error)) {
    status = 503;
  } else if (isTimeoutError(error) || isCacheTimeoutError(error)) {
    status = 504;
  } else {
    return undefined;
  }
  const { code, message } = error as { code: string; message: string };
  const body: Record<string, string> = { error: status === 503 ? 'Service Unavailable' : 'Gateway Timeout', code };
  if (options.exposeMessage !== false) body.message = message;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (retryMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryMs / 1000)));
  return { status, headers, body: Buffer.from(JSON.stringify(body)) };
}
