import { CACHED_OPTIONS, CacheScope, checkOptionKeys, describeValue as describe } from '@toolkit/cache';
import type {
  BulkheadOptions,
  CircuitBreakerOptions,
  FallbackOptions,
  RateLimiterOptions,
  ResilientOptions,
  RetryOptions,
  TimeoutOptions,
} from './ResilientOptions';

/** The layers whose option must be an object (of settings, or a scope), with an example for the message. */
const OBJECT_LAYERS = {
  cache: "cache options such as { ttl: '5m' }, or a CacheScope",
  retry: 'an options object such as { maxAttempts: 3 }',
  circuitBreaker: 'an options object such as { failureThreshold: 5 }',
  bulkhead: 'an options object such as { maxConcurrent: 10 }',
  rateLimiter: "an options object such as { maxCalls: 100, period: '1s' }",
} as const;

/** The names of each layer's options object: a `Record<keyof …, true>` cannot drift from the interface. */
const LAYER_OPTIONS = {
  retry: {
    maxAttempts: true,
    delay: true,
    backoffFactor: true,
    maxDelay: true,
    jitter: true,
    retryOn: true,
    ignoreOn: true,
    retryOnResult: true,
    honorRetryAfter: true,
  } satisfies Record<keyof RetryOptions, true>,
  circuitBreaker: {
    failureThreshold: true,
    failureRateThreshold: true,
    windowSize: true,
    minimumCalls: true,
    halfOpenAfter: true,
    successThreshold: true,
    errorTypes: true,
    ignoreOn: true,
    slowCallThreshold: true,
    name: true,
    initialState: true,
  } satisfies Record<keyof CircuitBreakerOptions, true>,
  timeout: { after: true, perAttempt: true } satisfies Record<keyof TimeoutOptions, true>,
  fallback: { handler: true, fallbackOn: true, cacheFallback: true } satisfies Record<keyof FallbackOptions<[], unknown>, true>,
  bulkhead: { maxConcurrent: true, maxQueue: true, maxWait: true } satisfies Record<keyof BulkheadOptions, true>,
  rateLimiter: { maxCalls: true, period: true, maxWait: true } satisfies Record<keyof RateLimiterOptions, true>,
  cache: CACHED_OPTIONS,
} as const;

/**
 * Refuses a layer given as something other than an object (`cache: true`, `retry: 3`), which TypeScript
 * catches but plain JavaScript would take as "on, with defaults". (`fallback` may be any value, and
 * `timeout` a bare duration: their own parsers check them.) @internal
 */
export function checkLayerOptions(options: ResilientOptions<never, unknown>): void {
  for (const [layer, expected] of Object.entries(OBJECT_LAYERS)) {
    const value: unknown = options[layer as keyof typeof OBJECT_LAYERS];
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new TypeError(`\`${layer}\` must be ${expected}, got ${describe(value)}`);
    }
  }
}

/**
 * Refuses an unknown name inside a layer's options object (`retry: { maxAttempt: 3 }`,
 * `cache: { tll: '1m' }`), naming its full path and the closest valid name. A `timeout` given as a
 * duration, a `fallback` given as a function or a value (an object without `handler`) and a `cache` given as a `CacheScope` have no names to check.
 * @internal
 */
export function checkLayerOptionNames(options: ResilientOptions<never, unknown>): void {
  for (const [layer, known] of Object.entries(LAYER_OPTIONS)) {
    const value: unknown = options[layer as keyof typeof LAYER_OPTIONS];
    if (value === null || typeof value !== 'object' || value instanceof CacheScope) continue;
    // A fallback object without `handler` is the fallback value itself, whatever its names.
    if (layer === 'fallback' && !('handler' in value)) continue;
    checkOptionKeys(value, known, 'resilient()', `${layer}.`);
  }
}
