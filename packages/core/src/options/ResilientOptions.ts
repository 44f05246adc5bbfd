import type { CacheScope, CachedOptions, Duration } from '@toolkit/cache';
import type { ResilienceEventListener } from '../events/ResilienceEvents';

/** An error class (matched with `instanceof`) or a predicate over the error. */
export type ErrorMatcher = (abstract new (...args: never[]) => unknown) | ((error: unknown) => boolean);

/** Retry: run the function again after a failure, with backoff. */
export interface RetryOptions<R = unknown> {
  /**
   * Total calls of the function, the first included (cockatiel counts retries: this is retries + 1).
   * @default 3
   */
  maxAttempts?: number;
  /**
   * The delay before the first retry, growing by `backoffFactor` for each next one; or a function
   * `(attempt, error) => ms` that replaces the backoff (attempts count from 1: the attempt that failed).
   * @default '100ms'
   * @example { delay: (attempt) => attempt * 250 }
   */
  delay?: Duration | ((attempt: number, error: unknown) => number);
  /**
   * Multiplies the delay after each retry: `delay × backoffFactor^(attempt − 1)`.
   * @default 2
   */
  backoffFactor?: number;
  /**
   * The longest delay between two attempts (a `Retry-After` hint is not capped by it).
   * @default '30s'
   */
  maxDelay?: Duration;
  /**
   * Spread delays randomly in `[delay / 2, delay]` so that many clients do not retry in lockstep.
   * @default true
   */
  jitter?: boolean;
  /**
   * Which errors are retried: error classes or predicates (any match). Omitted: every error except
   * the pipeline's own rejections (open circuit, full bulkhead, rate limit) and `ignoreOn`.
   * @example { retryOn: [NetworkError, (e) => (e as HttpError).status >= 500] }
   */
  retryOn?: readonly ErrorMatcher[];
  /**
   * Errors that are never retried, never counted by the breaker, never sent to the fallback: they reach
   * the caller as they are (validation errors, 4xx answers).
   */
  ignoreOn?: readonly ErrorMatcher[];
  /**
   * Retry when the function returns a result that this predicate rejects; when the attempts run out on
   * such a result, that last result is returned.
   * @example { retryOnResult: (res) => res.status === 503 }
   */
  retryOnResult?: (result: R) => boolean;
  /**
   * Honour a server's hint of when to try again: an error's `retryAfter` (ms), or an HTTP
   * `headers['retry-after']` / `response.headers['retry-after']` (seconds, or an HTTP date).
   * @default true
   */
  honorRetryAfter?: boolean;
}

/** Circuit breaker: after too many failures, reject calls at once for a while. */
export interface CircuitBreakerOptions {
  /**
   * Open after this many consecutive failures. Ignored when `failureRateThreshold` is given.
   * @default 5
   */
  failureThreshold?: number;
  /**
   * Open when at least this fraction (0–1) of the last `windowSize` calls failed, once `minimumCalls`
   * calls were seen (a count-based sliding window).
   */
  failureRateThreshold?: number;
  /** @default 20 (with `failureRateThreshold`) */
  windowSize?: number;
  /** @default `windowSize` */
  minimumCalls?: number;
  /**
   * How long the circuit stays open before it lets a trial call through (half-open).
   * @default '10s'
   */
  halfOpenAfter?: Duration;
  /**
   * Trial calls that must all succeed, while half-open, before the circuit closes.
   * @default 1
   */
  successThreshold?: number;
  /** Errors that count as failures (classes or predicates). Omitted: every error except `ignoreOn`. */
  errorTypes?: readonly ErrorMatcher[];
  /** Errors that never count (they pass through as they are). */
  ignoreOn?: readonly ErrorMatcher[];
  /**
   * A call that succeeds but takes longer than this counts as a failure (its result is still returned),
   * and emits `SLOW_CALL`.
   */
  slowCallThreshold?: Duration;
  /**
   * Share this breaker, by name, with every pipeline that names it (in the same registry).
   */
  name?: string;
  /**
   * A state saved with `circuitBreaker.toJSON()`, to start from (e.g. across serverless invocations).
   */
  initialState?: unknown;
}

/** Timeout: stop waiting for an attempt (or the whole call) after a while. */
export interface TimeoutOptions {
  /** How long an attempt may take. */
  after: Duration;
  /**
   * `true`: each attempt has its own timeout (inside retry). `false`: one timeout for all attempts.
   * @default true
   */
  perAttempt?: boolean;
}

/** What the fallback answers with: a value, or a function of the error and the call's arguments. */
export type FallbackHandler<A extends unknown[], R> = R | ((error: unknown, args: A) => R | PromiseLike<R>);

/** Fallback: answer with a default when the call fails. */
export interface FallbackOptions<A extends unknown[], R> {
  handler: FallbackHandler<A, R>;
  /** Which errors the fallback answers (classes or predicates). Omitted: every error except `ignoreOn`. */
  fallbackOn?: readonly ErrorMatcher[];
  /**
   * Store fallback answers in the cache like real results.
   * @default false
   */
  cacheFallback?: boolean;
}

/** Bulkhead: bound how many calls run at once, and how many wait. */
export interface BulkheadOptions {
  /** Calls running at once. */
  maxConcurrent: number;
  /**
   * Calls waiting for a slot; beyond that, calls are rejected with `BulkheadFullError`.
   * @default 0
   */
  maxQueue?: number;
  /** The longest a call waits in the queue before it is rejected. Omitted: as long as it takes. */
  maxWait?: Duration;
}

/** Rate limiter: a token bucket of `maxCalls` per `period`. */
export interface RateLimiterOptions {
  /** Calls allowed per period (also the burst size). */
  maxCalls: number;
  /** The period. */
  period: Duration;
  /**
   * How long a call may wait for a token; beyond that it is rejected with `RateLimitedError`.
   * @default 0
   */
  maxWait?: Duration;
}

/**
 * Options of `resilient()`. Every layer is optional; an omitted layer is not in the pipeline. `A` and `R`
 * type the options that see the function's arguments and result; `F` is the fallback's value.
 * Order on a call: cache → fallback → breaker admission → rate limiter → bulkhead → retry →
 * (breaker records each attempt) → timeout → fn.
 */
export interface ResilientOptions<A extends unknown[] = unknown[], R = unknown, F = R> {
  /**
   * The cache, outermost: cache options (a scope of its own in the default cache, or in `cacheInstance`)
   * with `cached()`'s key options, or an existing scope to share.
   */
  cache?: CachedOptions<A, R> | CacheScope<R>;
  retry?: RetryOptions<R>;
  circuitBreaker?: CircuitBreakerOptions;
  /** A `TimeoutOptions`, or just the duration (per attempt). */
  timeout?: TimeoutOptions | Duration;
  /**
   * A value, a function `(error, args) => value`, or `{ handler, fallbackOn, cacheFallback }`. Its type
   * joins the wrapped function's result type: with `fallback: null`, a `Promise<User>` becomes
   * `Promise<User | null>`.
   */
  fallback?: FallbackOptions<A, F> | FallbackHandler<A, F>;
  bulkhead?: BulkheadOptions;
  rateLimiter?: RateLimiterOptions;
  /**
   * Registers the pipeline in its registry (share it with `registry.get(name)`) and names its breaker;
   * also the `functionName` of wrapped functions that have no name of their own.
   */
  name?: string;
  /** Receives every event of this pipeline. */
  onEvent?: ResilienceEventListener;
}
