/**
 * Every metric and attribute name this package records, in one place (the README's tables list them with
 * their meaning). OpenTelemetry has no semantic conventions for caches or resilience policies, so ours
 * live in the `toolkit.` namespace; where a convention exists (`error.type`, `code.function.name`) it is
 * used as specified.
 */

/** Metric names. */
export const MetricName = Object.freeze({
  CACHE_REQUESTS: 'toolkit.cache.requests',
  CACHE_STALE_HITS: 'toolkit.cache.stale_hits',
  CACHE_L2_HITS: 'toolkit.cache.l2.hits',
  CACHE_LOADS: 'toolkit.cache.loads',
  CACHE_LOAD_ERRORS: 'toolkit.cache.load.errors',
  CACHE_LOAD_DURATION: 'toolkit.cache.load.duration',
  CACHE_EVICTIONS: 'toolkit.cache.evictions',
  CACHE_TIMEOUTS: 'toolkit.cache.timeouts',
  CACHE_L2_ERRORS: 'toolkit.cache.l2.errors',
  CACHE_ENTRY_COUNT: 'toolkit.cache.entry.count',
  CACHE_ENTRY_LIMIT: 'toolkit.cache.entry.limit',
  CALLS: 'toolkit.resilience.calls',
  CALL_DURATION: 'toolkit.resilience.call.duration',
  RETRIES: 'toolkit.resilience.retries',
  TIMEOUTS: 'toolkit.resilience.timeouts',
  CIRCUIT_STATE: 'toolkit.resilience.circuit.state',
  CIRCUIT_TRANSITIONS: 'toolkit.resilience.circuit.transitions',
  BULKHEAD_REJECTIONS: 'toolkit.resilience.bulkhead.rejections',
  RATE_LIMITER_REJECTIONS: 'toolkit.resilience.rate_limiter.rejections',
  FALLBACKS: 'toolkit.resilience.fallbacks',
  SLOW_CALLS: 'toolkit.resilience.slow_calls',
});

/** Attribute names, on metrics and spans. */
export const AttributeName = Object.freeze({
  /** The cache scope (a cached function's scope is named after the function). */
  CACHE_SCOPE: 'toolkit.cache.scope',
  /** `hit` or `miss`. */
  CACHE_RESULT: 'toolkit.cache.result',
  /** Why a stale value was served: `error`, `soft_timeout`, `hard_timeout`, `throttle`. */
  CACHE_STALE_REASON: 'toolkit.cache.stale.reason',
  /** True for a load no caller waited for (refresh-ahead, or one that outlived its callers' timeout). */
  CACHE_LOAD_BACKGROUND: 'toolkit.cache.load.background',
  /** `soft` or `hard`. */
  CACHE_TIMEOUT_KIND: 'toolkit.cache.timeout.kind',
  /** The failed shared-layer operation: `get`, `set`, `publish`, `lock`, `decode`, `subscribe`, … */
  CACHE_L2_OPERATION: 'toolkit.cache.l2.operation',
  /** The full cache key. On spans only, and only with `recordKeys: true`: keys can hold personal data. */
  CACHE_KEY: 'toolkit.cache.key',
  /** The wrapped function's name (OpenTelemetry's `code.function.name`). */
  FUNCTION_NAME: 'code.function.name',
  /** How a pipeline call ended: `success`, `failure` or `fallback`. */
  OUTCOME: 'toolkit.resilience.outcome',
  /** How many attempts a call made. Spans only. */
  ATTEMPTS: 'toolkit.resilience.attempts',
  /** The circuit breaker's name. */
  CIRCUIT_NAME: 'toolkit.resilience.circuit.name',
  /** A circuit state: `closed`, `open`, `half_open`, `isolated`. */
  CIRCUIT_STATE: 'toolkit.resilience.circuit.state',
  /** OpenTelemetry's `error.type`: the error's class name (its `name`), `_OTHER` for a non-Error. */
  ERROR_TYPE: 'error.type',
});
