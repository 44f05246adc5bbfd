/**
 * The one event stream of `resilient()`: cache events and policy events alike. Every event has the same
 * shape (so listeners need no special cases): `type`, `functionName`, `key` (the cache key, when the
 * pipeline has a cache), `attempt`, `error`, `durationMs`, `at`; fields that do not apply are undefined.
 * The event union, the type → event map and the `EventType` constants are derived from the constructors.
 */

/**
 * The fields every event has.
 * @inline
 */
interface Base<T extends string> {
  readonly type: T;
  /** The wrapped function's (or pipeline's) name. */
  readonly functionName: string;
  /** The cache key of the call, when the pipeline has a cache. */
  readonly key: string | undefined;
  /** The attempt (1-based) the event is about, when there is one. */
  readonly attempt: number | undefined;
  /** The error the event is about, when there is one. */
  readonly error: unknown;
  /** How long the thing the event reports took, in milliseconds, when it applies. */
  readonly durationMs: number | undefined;
  /** When the event happened (ms since the epoch). */
  readonly at: number;
}

/**
 * Fields a constructor may set besides `type` and `functionName`.
 * @inline
 */
interface Fields {
  key?: string | undefined;
  attempt?: number | undefined;
  error?: unknown;
  durationMs?: number | undefined;
}

function make<T extends string, X extends object = object>(type: T) {
  return (functionName: string, fields: Fields = {}, extra?: X): Base<T> & X =>
    ({
      type,
      functionName,
      key: fields.key,
      attempt: fields.attempt,
      error: fields.error,
      durationMs: fields.durationMs,
      at: Date.now(),
      ...extra,
    }) as Base<T> & X;
}

const constructors = {
  /** A fresh cached value was returned; no inner layer ran. */
  CACHE_HIT: make('CACHE_HIT'),
  /** No fresh cached value: the call runs the pipeline (or joins a call already running it). */
  CACHE_MISS: make('CACHE_MISS'),
  /** A stale cached value was served because the pipeline failed or was too slow (fail-safe). */
  CACHE_STALE_HIT: make<'CACHE_STALE_HIT', { reason: string }>('CACHE_STALE_HIT'),
  /** A background refresh of a cached value completed. */
  CACHE_REFRESH: make('CACHE_REFRESH'),
  /** A cached value was evicted to respect `maxSize`. */
  CACHE_EVICTION: make('CACHE_EVICTION'),
  /** An attempt failed and another follows after `delayMs`. `attempt` is the one that failed. */
  RETRY: make<'RETRY', { delayMs: number; result: unknown }>('RETRY'),
  /** The attempts ran out; the caller gets the last error (or result). */
  RETRY_EXHAUSTED: make<'RETRY_EXHAUSTED', { result: unknown }>('RETRY_EXHAUSTED'),
  /** An attempt (or the whole call) took longer than the timeout and was aborted. */
  TIMEOUT: make('TIMEOUT'),
  /** The circuit opened (or was isolated): calls are rejected until it half-opens. */
  CIRCUIT_OPEN: make<'CIRCUIT_OPEN', { breaker: string; isolated: boolean }>('CIRCUIT_OPEN'),
  /** The circuit lets trial calls through. */
  CIRCUIT_HALF_OPEN: make<'CIRCUIT_HALF_OPEN', { breaker: string }>('CIRCUIT_HALF_OPEN'),
  /** The circuit closed: calls flow again. */
  CIRCUIT_CLOSED: make<'CIRCUIT_CLOSED', { breaker: string }>('CIRCUIT_CLOSED'),
  /** The fallback answered instead of the error. */
  FALLBACK_USED: make('FALLBACK_USED'),
  /** The bulkhead had no slot and no queue place (or the wait exceeded `maxWait`). */
  BULKHEAD_REJECTED: make('BULKHEAD_REJECTED'),
  /** The rate limiter had no token in time. */
  RATE_LIMITED: make<'RATE_LIMITED', { retryAfterMs: number }>('RATE_LIMITED'),
  /** An attempt succeeded but took longer than `slowCallThreshold`; the breaker counts it as a failure. */
  SLOW_CALL: make('SLOW_CALL'),
  /** The function's result reached the caller. `attempt`: how many attempts it took. */
  SUCCESS: make('SUCCESS'),
  /**
   * The pipeline failed and no fallback answered. `attempt`: how many attempts ran. With a cache's
   * `failSafe`, a CACHE_STALE_HIT may follow: the caller then gets the stale value.
   */
  FAILURE: make('FAILURE'),
};

/** Builds events; exported for layers and tests that emit into the same stream. */
export const resilienceEvent = constructors;

/** @inline */
type Constructors = typeof constructors;

/** Type → event. */
export type ResilienceEventMap = { [K in keyof Constructors]: ReturnType<Constructors[K]> };

/** Every event of the stream. Switch on `type` to narrow. */
export type ResilienceEvent = ResilienceEventMap[keyof ResilienceEventMap];

/** The names of the events. */
export type EventTypeName = keyof ResilienceEventMap;

/** `EventType.CACHE_HIT === 'CACHE_HIT'`, `EventType.RETRY === 'RETRY'`, and so on. */
export const EventType = Object.freeze(
  Object.fromEntries(Object.keys(constructors).map((k) => [k, k])) as { [K in EventTypeName]: K },
);

/** A listener of every event. */
export type ResilienceEventListener = (event: ResilienceEvent) => void;
