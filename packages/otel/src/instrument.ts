import { SpanKind, SpanStatusCode, context, metrics, trace } from '@opentelemetry/api';
import type { Attributes, BatchObservableResult, MeterProvider, Observable, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { CacheEventMap } from '@toolkit/cache';
import {
  CIRCUIT_STATE_LABELS,
  DURATION_BUCKETS_SECONDS,
  POLICY_EVENT_TYPES,
  circuitStates,
  enumLabel,
  errorType,
  telemetryCaches,
} from '@toolkit/core';
import type { InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry, ResilienceEvent } from '@toolkit/core';
import { AttributeName as A, MetricName as M } from './semantics';

export type { InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry };

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** A cache to instrument: its metrics, and a span per load. */
  cache?: InstrumentedCache;
  /**
   * A registry to instrument: the policy metrics of every pipeline it makes, a span per pipeline call,
   * the state of its named breakers, and its cache (`registry.cache`, unless that is `cache` already).
   * Pass `defaultRegistry` for the module-level `resilient()`.
   */
  registry?: InstrumentedRegistry;
  /**
   * Breakers to report in `toolkit.resilience.circuit.state` besides the registry's named ones
   * (an unnamed breaker belongs to its pipeline only: `policy.circuitBreaker`).
   * @default []
   */
  circuitBreakers?: readonly InstrumentedBreaker[];
  /** Where the meter comes from. @default the global one (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /** Where the tracer comes from. @default the global one (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Make spans (cache loads, pipeline calls). A hit never makes one. @default true */
  traces?: boolean;
  /**
   * Put the cache key on spans as `toolkit.cache.key`. Off by default: keys can hold personal data
   * (`user:ada@example.com`). Never on metrics, whose attributes must stay few.
   * @default false
   */
  recordKeys?: boolean;
}

/** What {@link instrument} set up. */
export interface Instrumentation {
  /** Unsubscribes from every event stream and stops the observable instruments. Idempotent. */
  stop(): void;
}

const SCOPE_NAME = '@toolkit/otel';
const SCOPE_VERSION = '0.1.0';

/**
 * Instruments a `Cache`, a `ResilienceRegistry`, or both, with OpenTelemetry metrics and spans, from
 * their event streams and stats. Only `@opentelemetry/api` is used: the SDK, exporters and views are the
 * application's. Call it once per cache or registry; `stop()` undoes it.
 *
 * @example
 * import { defaultRegistry } from '@toolkit/core';
 * import { instrument } from '@toolkit/otel';
 *
 * const telemetry = instrument({ registry: defaultRegistry }); // every resilient() and its cache
 * process.on('SIGTERM', () => telemetry.stop());
 */
export function instrument(options: InstrumentOptions): Instrumentation {
  const caches = telemetryCaches(options);
  const { registry, circuitBreakers = [], traces = true, recordKeys = false } = options;
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE_NAME, SCOPE_VERSION);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE_NAME, SCOPE_VERSION);
  const stops: Array<() => void> = [];

  if (caches.length > 0) stops.push(instrumentCaches(caches, meter, traces ? tracer : undefined, recordKeys));
  if (registry !== undefined) {
    stops.push(instrumentRegistry(registry, circuitBreakers, meter, traces ? tracer : undefined, recordKeys));
  }
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const stop of stops) stop();
    },
  };
}

type Meter = ReturnType<MeterProvider['getMeter']>;

/** Attribute sets are built once per scope (or function) and reused: the SDK hashes them on every record. */
function memo<T>(build: (name: string) => T): (name: string) => T {
  const cache = new Map<string, T>();
  return (name) => {
    let value = cache.get(name);
    if (value === undefined) cache.set(name, (value = build(name)));
    return value;
  };
}

function instrumentCaches(caches: readonly InstrumentedCache[], meter: Meter, tracer: Tracer | undefined, recordKeys: boolean) {
  // Per-lookup counters are observed from stats() when a reader collects: a hit costs nothing here.
  const requests = meter.createObservableCounter(M.CACHE_REQUESTS, {
    description: 'Cache lookups, by result: hit (a fresh value in memory) or miss.',
    unit: '{request}',
  });
  const l2Hits = meter.createObservableCounter(M.CACHE_L2_HITS, {
    description: 'Misses of the in-memory layer answered by a fresh value of the shared L2.',
    unit: '{request}',
  });
  const evictions = meter.createObservableCounter(M.CACHE_EVICTIONS, {
    description: 'Entries evicted to respect maxSize.',
    unit: '{entry}',
  });
  const entries = meter.createObservableGauge(M.CACHE_ENTRY_COUNT, { description: 'Entries held in memory now.', unit: '{entry}' });
  const limit = meter.createObservableGauge(M.CACHE_ENTRY_LIMIT, { description: 'The maxSize of the scope.', unit: '{entry}' });
  const staleHits = meter.createCounter(M.CACHE_STALE_HITS, {
    description: 'Misses answered with a stale value (fail-safe), by reason.',
    unit: '{request}',
  });
  const loads = meter.createCounter(M.CACHE_LOADS, { description: 'Loads (the L2, then the factory) that ended.', unit: '{load}' });
  const loadErrors = meter.createCounter(M.CACHE_LOAD_ERRORS, { description: 'Loads whose factory threw or rejected.', unit: '{load}' });
  const loadDuration = meter.createHistogram(M.CACHE_LOAD_DURATION, {
    description: 'How long loads took.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });
  const timeouts = meter.createCounter(M.CACHE_TIMEOUTS, {
    description: 'Callers that stopped waiting for a load (softTimeout, hardTimeout).',
    unit: '{timeout}',
  });
  const l2Errors = meter.createCounter(M.CACHE_L2_ERRORS, {
    description: 'Failed operations on the shared layer (L2 store, backplane, lock), and undecodable L2 values.',
    unit: '{error}',
  });

  const observables: Observable[] = [requests, l2Hits, evictions, entries, limit];
  const observe = (result: BatchObservableResult) => {
    for (const cache of caches) {
      const scopes = cache.stats().scopes;
      for (const scope of Object.keys(scopes)) {
        const s = scopes[scope];
        if (s === undefined) continue;
        const attributes = { [A.CACHE_SCOPE]: scope };
        result.observe(requests, s.hits, { ...attributes, [A.CACHE_RESULT]: 'hit' });
        result.observe(requests, s.misses, { ...attributes, [A.CACHE_RESULT]: 'miss' });
        result.observe(l2Hits, s.l2Hits, attributes);
        result.observe(evictions, s.evictions, attributes);
        result.observe(entries, s.size, attributes);
        if (Number.isFinite(s.maxSize)) result.observe(limit, s.maxSize, attributes);
      }
    }
  };
  meter.addBatchObservableCallback(observe, observables);

  const ofScope = memo((scope): Attributes => ({ [A.CACHE_SCOPE]: scope }));
  const loadAttributes = memo((scope) => ({
    foreground: { [A.CACHE_SCOPE]: scope, [A.CACHE_LOAD_BACKGROUND]: false } as Attributes,
    background: { [A.CACHE_SCOPE]: scope, [A.CACHE_LOAD_BACKGROUND]: true } as Attributes,
  }));

  /** A span for a load that just ended: it started `durationMs` before `at`, in the caller's context. */
  const loadSpan = (scope: string, key: string, at: number, durationMs: number, attributes: Attributes, error?: unknown) => {
    if (tracer === undefined) return;
    const span = tracer.startSpan(
      `load ${scope}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: at - durationMs,
        attributes: recordKeys ? { ...attributes, [A.CACHE_KEY]: key } : attributes,
      },
      context.active(),
    );
    if (error !== undefined) fail(span, error);
    span.end(at);
  };

  const listeners = {
    CACHE_LOAD: (e: CacheEventMap['CACHE_LOAD']) => {
      const attributes = e.background ? loadAttributes(e.scope).background : loadAttributes(e.scope).foreground;
      loads.add(1, attributes);
      loadDuration.record(e.durationMs / 1000, attributes);
      loadSpan(e.scope, e.key, e.at, e.durationMs, attributes);
    },
    CACHE_LOAD_ERROR: (e: CacheEventMap['CACHE_LOAD_ERROR']) => {
      const attributes = {
        [A.CACHE_SCOPE]: e.scope,
        [A.CACHE_LOAD_BACKGROUND]: e.background,
        [A.ERROR_TYPE]: errorType(e.error),
      };
      loads.add(1, attributes);
      loadErrors.add(1, attributes);
      loadDuration.record(e.durationMs / 1000, attributes);
      loadSpan(e.scope, e.key, e.at, e.durationMs, attributes, e.error);
    },
    CACHE_STALE_HIT: (e: CacheEventMap['CACHE_STALE_HIT']) => {
      staleHits.add(1, { [A.CACHE_SCOPE]: e.scope, [A.CACHE_STALE_REASON]: enumLabel(e.reason) });
    },
    CACHE_TIMEOUT: (e: CacheEventMap['CACHE_TIMEOUT']) => {
      timeouts.add(1, { [A.CACHE_SCOPE]: e.scope, [A.CACHE_TIMEOUT_KIND]: e.timeout });
    },
    CACHE_L2_ERROR: (e: CacheEventMap['CACHE_L2_ERROR']) => {
      const attributes: Attributes = { [A.CACHE_L2_OPERATION]: e.operation, [A.ERROR_TYPE]: errorType(e.error) };
      if (e.scope !== '') Object.assign(attributes, ofScope(e.scope));
      l2Errors.add(1, attributes);
    },
  };
  const unsubscribes: Array<() => void> = [];
  for (const cache of caches) {
    // One listener per needed type, none for CACHE_HIT / CACHE_MISS (counted from stats).
    for (const [type, listener] of Object.entries(listeners)) {
      unsubscribes.push(cache.on(type as keyof typeof listeners, listener as (event: unknown) => void));
    }
  }
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
    meter.removeBatchObservableCallback(observe, observables);
  };
}

function instrumentRegistry(
  registry: InstrumentedRegistry,
  breakers: readonly InstrumentedBreaker[],
  meter: Meter,
  tracer: Tracer | undefined,
  recordKeys: boolean,
) {
  const calls = meter.createCounter(M.CALLS, {
    description: 'Calls through a resilient() pipeline that ran it (cache hits do not), by outcome.',
    unit: '{call}',
  });
  const callDuration = meter.createHistogram(M.CALL_DURATION, {
    description: 'How long pipeline calls took, every attempt and retry delay included.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });
  const retries = meter.createCounter(M.RETRIES, { description: 'Failed attempts that another attempt followed.', unit: '{retry}' });
  const timeouts = meter.createCounter(M.TIMEOUTS, { description: 'Attempts (or calls) aborted by the timeout policy.', unit: '{timeout}' });
  const transitions = meter.createCounter(M.CIRCUIT_TRANSITIONS, {
    description: 'Circuit breaker state changes, by the state entered.',
    unit: '{transition}',
  });
  const bulkhead = meter.createCounter(M.BULKHEAD_REJECTIONS, { description: 'Calls the bulkhead turned away.', unit: '{call}' });
  const rateLimited = meter.createCounter(M.RATE_LIMITER_REJECTIONS, { description: 'Calls the rate limiter turned away.', unit: '{call}' });
  const fallbacks = meter.createCounter(M.FALLBACKS, { description: 'Calls the fallback answered, by the error it replaced.', unit: '{call}' });
  const slowCalls = meter.createCounter(M.SLOW_CALLS, {
    description: 'Attempts that succeeded slower than slowCallThreshold (the breaker counts them as failures).',
    unit: '{call}',
  });
  const state = meter.createObservableGauge(M.CIRCUIT_STATE, {
    description: 'Circuit breaker state: 1 for the state the breaker is in, 0 for the others.',
    unit: '1',
  });

  const observeState = (result: BatchObservableResult) => {
    for (const [name, now] of circuitStates(registry, breakers)) {
      for (const s of CIRCUIT_STATE_LABELS) result.observe(state, s === now ? 1 : 0, { [A.CIRCUIT_NAME]: name, [A.CIRCUIT_STATE]: s });
    }
  };
  meter.addBatchObservableCallback(observeState, [state]);

  const ofFunction = memo((fn): Attributes => ({ [A.FUNCTION_NAME]: fn }));
  const outcomes = memo((fn) => ({
    success: { [A.FUNCTION_NAME]: fn, [A.OUTCOME]: 'success' } as Attributes,
    fallback: { [A.FUNCTION_NAME]: fn, [A.OUTCOME]: 'fallback' } as Attributes,
  }));

  /** A span for a call that just ended: it started `durationMs` before the event, in the caller's context. */
  const callSpan = (e: ResilienceEvent, attributes: Attributes, error?: unknown) => {
    if (tracer === undefined) return;
    const extra: Attributes = { [A.ATTEMPTS]: e.attempt ?? 0 };
    if (recordKeys && e.key !== undefined) extra[A.CACHE_KEY] = e.key;
    const span = tracer.startSpan(
      `resilient ${e.functionName}`,
      { kind: SpanKind.INTERNAL, startTime: e.at - (e.durationMs ?? 0), attributes: { ...attributes, ...extra } },
      context.active(),
    );
    if (error !== undefined) fail(span, error);
    span.end(e.at);
  };

  const listener = (e: ResilienceEvent) => {
    switch (e.type) {
      case 'SUCCESS':
      case 'FALLBACK_USED': {
        const attributes = e.type === 'SUCCESS' ? outcomes(e.functionName).success : outcomes(e.functionName).fallback;
        calls.add(1, attributes);
        callDuration.record((e.durationMs ?? 0) / 1000, attributes);
        if (e.type === 'FALLBACK_USED') fallbacks.add(1, { ...ofFunction(e.functionName), [A.ERROR_TYPE]: errorType(e.error) });
        // A fallback handled the error: the call did not fail (OpenTelemetry: handled errors are not recorded).
        callSpan(e, attributes);
        return;
      }
      case 'FAILURE': {
        const attributes = { [A.FUNCTION_NAME]: e.functionName, [A.OUTCOME]: 'failure', [A.ERROR_TYPE]: errorType(e.error) };
        calls.add(1, attributes);
        callDuration.record((e.durationMs ?? 0) / 1000, attributes);
        callSpan(e, attributes, e.error);
        return;
      }
      case 'RETRY':
        retries.add(1, { ...ofFunction(e.functionName), [A.ERROR_TYPE]: e.error === undefined ? 'result' : errorType(e.error) });
        return;
      case 'TIMEOUT':
        // A cache's soft / hard timeout is forwarded as TIMEOUT without an attempt: counted by the cache's metrics.
        if (e.attempt !== undefined) timeouts.add(1, ofFunction(e.functionName));
        return;
      case 'CIRCUIT_OPEN':
        transitions.add(1, { [A.CIRCUIT_NAME]: e.breaker, [A.CIRCUIT_STATE]: e.isolated ? 'isolated' : 'open' });
        return;
      case 'CIRCUIT_HALF_OPEN':
        transitions.add(1, { [A.CIRCUIT_NAME]: e.breaker, [A.CIRCUIT_STATE]: 'half_open' });
        return;
      case 'CIRCUIT_CLOSED':
        transitions.add(1, { [A.CIRCUIT_NAME]: e.breaker, [A.CIRCUIT_STATE]: 'closed' });
        return;
      case 'BULKHEAD_REJECTED':
        bulkhead.add(1, ofFunction(e.functionName));
        return;
      case 'RATE_LIMITED':
        rateLimited.add(1, ofFunction(e.functionName));
        return;
      case 'SLOW_CALL':
        slowCalls.add(1, ofFunction(e.functionName));
        return;
      default:
        return;
    }
  };
  const unsubscribes = POLICY_EVENT_TYPES.map((type) => registry.on(type, listener as (event: unknown) => void));
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
    meter.removeBatchObservableCallback(observeState, [state]);
  };
}

/** Marks a span failed, per OpenTelemetry's "recording errors": status ERROR, `error.type`, an exception event. */
function fail(span: Span, error: unknown): void {
  span.setAttribute(A.ERROR_TYPE, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
  if (error instanceof Error) span.recordException(error);
}
