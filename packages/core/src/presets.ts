import type { ResilientOptions } from './options/ResilientOptions';

/** The HTTP status of an error, from `status`, `statusCode` or `response.status`, if it has one. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  const status = e.status ?? e.statusCode ?? e.response?.status;
  return typeof status === 'number' ? status : undefined;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** True for errors worth retrying against an HTTP service: network failures, 408, 429 and 5xx. */
export function isTransientHttpError(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** True for HTTP errors that retrying cannot fix: 4xx other than 408 and 429. */
export function isClientHttpError(error: unknown): boolean {
  const status = httpStatus(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Freezes an options object and everything in it, so one caller's change cannot alter a preset for all. */
function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null && !Object.isFrozen(inner)) deepFreeze(inner as object);
  }
  return Object.freeze(value);
}

/**
 * Option sets for common targets, as plain objects: spread one and override what you need.
 *
 * @example
 * const getUser = resilient({ ...presets.httpApi, cache: { ttl: '1m' } })(fetchUser);
 */
export const presets = deepFreeze({
  /** A JSON/REST API over HTTP: retry transient failures (honouring Retry-After), 10 s per attempt, a breaker. */
  httpApi: {
    retry: { maxAttempts: 3, delay: '200ms', backoffFactor: 2, maxDelay: '5s', retryOn: [isTransientHttpError], ignoreOn: [isClientHttpError] },
    timeout: { after: '10s' },
    circuitBreaker: { failureThreshold: 5, halfOpenAfter: '30s' },
  } satisfies ResilientOptions,
  /** A database: quick, few retries (a query that fails twice rarely succeeds a third time), short timeout. */
  database: {
    retry: { maxAttempts: 2, delay: '50ms', maxDelay: '500ms' },
    timeout: { after: '5s' },
    circuitBreaker: { failureRateThreshold: 0.5, windowSize: 20, minimumCalls: 10, halfOpenAfter: '10s' },
    bulkhead: { maxConcurrent: 20, maxQueue: 100, maxWait: '2s' },
  } satisfies ResilientOptions,
  /** A message queue or broker: patient retries with long backoff; publishing can wait. */
  queue: {
    retry: { maxAttempts: 5, delay: '500ms', backoffFactor: 2, maxDelay: '30s' },
    timeout: { after: '30s' },
    circuitBreaker: { failureThreshold: 10, halfOpenAfter: '1m' },
  } satisfies ResilientOptions,
  /**
   * A large-language-model API: long attempts, retries on 429 / 5xx / 529 (overloaded) honouring
   * Retry-After, a client-side rate limit, and few calls at once.
   */
  llmApi: {
    retry: {
      maxAttempts: 4,
      delay: '1s',
      backoffFactor: 2,
      maxDelay: '60s',
      retryOn: [isTransientHttpError],
      ignoreOn: [isClientHttpError],
      honorRetryAfter: true,
    },
    timeout: { after: '2m' },
    circuitBreaker: { failureThreshold: 5, halfOpenAfter: '1m' },
    rateLimiter: { maxCalls: 50, period: '1m', maxWait: '30s' },
    bulkhead: { maxConcurrent: 8, maxQueue: 64 },
  } satisfies ResilientOptions,
});
