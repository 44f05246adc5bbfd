import { Counter, Gauge, Histogram, register as defaultRegister } from 'prom-client';
import type { Registry } from 'prom-client';
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

export type { InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry };

/** Options of {@link instrument}. */
export interface PrometheusOptions {
  /** A cache to instrument. */
  cache?: InstrumentedCache;
  /**
   * A registry of pipelines to instrument, and its cache (`registry.cache`, unless that is `cache`).
   * Pass `defaultRegistry` for the module-level `resilient()`.
   */
  registry?: InstrumentedRegistry;
  /**
   * Breakers to report in `toolkit_resilience_circuit_state` besides the registry's named ones.
   * @default []
   */
  circuitBreakers?: readonly InstrumentedBreaker[];
  /** The prom-client registry the metrics are registered on. @default prom-client's global `register` */
  register?: Registry;
  /**
   * Buckets of the duration histograms, in seconds.
   * @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: readonly number[];
}

/** What {@link instrument} set up. */
export interface PrometheusInstrumentation {
  /** Unsubscribes from the event streams and removes the metrics from the prom-client registry. Idempotent. */
  stop(): void;
}

/** The metric names (the README's table says what each counts and its labels). */
export const PrometheusMetricName = Object.freeze({
  CACHE_REQUESTS: 'toolkit_cache_requests_total',
  CACHE_STALE_HITS: 'toolkit_cache_stale_hits_total',
  CACHE_L2_HITS: 'toolkit_cache_l2_hits_total',
  CACHE_LOADS: 'toolkit_cache_loads_total',
  CACHE_LOAD_ERRORS: 'toolkit_cache_load_errors_total',
  CACHE_LOAD_DURATION: 'toolkit_cache_load_duration_seconds',
  CACHE_EVICTIONS: 'toolkit_cache_evictions_total',
  CACHE_TIMEOUTS: 'toolkit_cache_timeouts_total',
  CACHE_L2_ERRORS: 'toolkit_cache_l2_errors_total',
  CACHE_ENTRIES: 'toolkit_cache_entries',
  CACHE_ENTRY_LIMIT: 'toolkit_cache_entry_limit',
  CALLS: 'toolkit_resilience_calls_total',
  CALL_DURATION: 'toolkit_resilience_call_duration_seconds',
  RETRIES: 'toolkit_resilience_retries_total',
  TIMEOUTS: 'toolkit_resilience_timeouts_total',
  CIRCUIT_STATE: 'toolkit_resilience_circuit_state',
  CIRCUIT_TRANSITIONS: 'toolkit_resilience_circuit_transitions_total',
  BULKHEAD_REJECTIONS: 'toolkit_resilience_bulkhead_rejections_total',
  RATE_LIMITER_REJECTIONS: 'toolkit_resilience_rate_limiter_rejections_total',
  FALLBACKS: 'toolkit_resilience_fallbacks_total',
  SLOW_CALLS: 'toolkit_resilience_slow_calls_total',
});

const M = PrometheusMetricName;
/**
 * Registers counters, histograms and gauges for a `Cache` and/or a `ResilienceRegistry` on a prom-client
 * registry, fed by their event streams and stats. Labels are bounded: scope, function, breaker, outcome,
 * error type, never a key. Serve them with `register.metrics()`.
 *
 * @example
 * import { register } from 'prom-client';
 * import { defaultRegistry } from '@toolkit/core';
 * import { instrument } from '@toolkit/prometheus';
 *
 * instrument({ registry: defaultRegistry }); // every resilient() and its cache, on prom-client's register
 * // GET /metrics: res.end(await register.metrics())
 */
export function instrument(options: PrometheusOptions): PrometheusInstrumentation {
  const caches = telemetryCaches(options);
  const { registry, circuitBreakers = [], register = defaultRegister, buckets = DURATION_BUCKETS_SECONDS } = options;
  const names: string[] = [];
  const registers = [register];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (this: Counter<L>) => void) => {
    names.push(name);
    return new Counter<L>({ name, help, labelNames, registers, ...(collect === undefined ? {} : { collect }) });
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (this: Gauge<L>) => void) => {
    names.push(name);
    return new Gauge<L>({ name, help, labelNames, registers, collect });
  };
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
    names.push(name);
    return new Histogram<L>({ name, help, labelNames, registers, buckets: [...buckets] });
  };
  const unsubscribes: Array<() => void> = [];
  try {
    if (caches.length > 0) instrumentCaches(caches, counter, gauge, histogram, unsubscribes);
    if (registry !== undefined) instrumentRegistry(registry, circuitBreakers, counter, gauge, histogram, unsubscribes);
  } catch (error) {
    // A name already registered (a second instrument() on the same registry): leave nothing half-done.
    for (const unsubscribe of unsubscribes) unsubscribe();
    for (const name of names.slice(0, -1)) register.removeSingleMetric(name);
    throw error;
  }
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
      for (const name of names) register.removeSingleMetric(name);
    },
  };
}

type MakeCounter = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (this: Counter<L>) => void) => Counter<L>;
type MakeGauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (this: Gauge<L>) => void) => Gauge<L>;
type MakeHistogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) => Histogram<L>;

function instrumentCaches(
  caches: readonly InstrumentedCache[],
  counter: MakeCounter,
  gauge: MakeGauge,
  histogram: MakeHistogram,
  unsubscribes: Array<() => void>,
) {
  const eachScope = (visit: (scope: string, s: ReturnType<InstrumentedCache['stats']>['scopes'][string]) => void) => {
    for (const cache of caches) {
      const scopes = cache.stats().scopes;
      for (const scope of Object.keys(scopes)) {
        const s = scopes[scope];
        if (s !== undefined) visit(scope, s);
      }
    }
  };
  // Per-lookup counters are read from stats() at scrape time: a hit costs nothing here.
  counter(M.CACHE_REQUESTS, 'Cache lookups, by result: hit (a fresh value in memory) or miss.', ['scope', 'result'], function () {
    this.reset();
    eachScope((scope, s) => {
      this.inc({ scope, result: 'hit' }, s.hits);
      this.inc({ scope, result: 'miss' }, s.misses);
    });
  });
  counter(M.CACHE_L2_HITS, 'Misses answered by a fresh value of the shared L2.', ['scope'], function () {
    this.reset();
    eachScope((scope, s) => this.inc({ scope }, s.l2Hits));
  });
  counter(M.CACHE_EVICTIONS, 'Entries evicted to respect maxSize.', ['scope'], function () {
    this.reset();
    eachScope((scope, s) => this.inc({ scope }, s.evictions));
  });
  gauge(M.CACHE_ENTRIES, 'Entries held in memory now.', ['scope'], function () {
    this.reset();
    eachScope((scope, s) => this.set({ scope }, s.size));
  });
  gauge(M.CACHE_ENTRY_LIMIT, 'The maxSize of the scope.', ['scope'], function () {
    this.reset();
    eachScope((scope, s) => {
      if (Number.isFinite(s.maxSize)) this.set({ scope }, s.maxSize);
    });
  });
  const staleHits = counter(M.CACHE_STALE_HITS, 'Misses answered with a stale value (fail-safe), by reason.', ['scope', 'reason']);
  const loads = counter(M.CACHE_LOADS, 'Loads (the L2, then the factory) that ended, by outcome.', ['scope', 'background', 'outcome']);
  const loadErrors = counter(M.CACHE_LOAD_ERRORS, 'Loads whose factory threw or rejected.', ['scope', 'background', 'error_type']);
  const loadDuration = histogram(M.CACHE_LOAD_DURATION, 'How long loads took, in seconds.', ['scope', 'background', 'outcome']);
  const timeouts = counter(M.CACHE_TIMEOUTS, 'Callers that stopped waiting for a load.', ['scope', 'kind']);
  const l2Errors = counter(M.CACHE_L2_ERRORS, 'Failed shared-layer operations and undecodable L2 values.', ['scope', 'operation', 'error_type']);

  const listeners = {
    CACHE_LOAD: (e: CacheEventMap['CACHE_LOAD']) => {
      const labels = { scope: e.scope, background: String(e.background), outcome: 'success' };
      loads.inc(labels);
      loadDuration.observe(labels, e.durationMs / 1000);
    },
    CACHE_LOAD_ERROR: (e: CacheEventMap['CACHE_LOAD_ERROR']) => {
      const labels = { scope: e.scope, background: String(e.background), outcome: 'error' };
      loads.inc(labels);
      loadDuration.observe(labels, e.durationMs / 1000);
      loadErrors.inc({ scope: e.scope, background: String(e.background), error_type: errorType(e.error) });
    },
    CACHE_STALE_HIT: (e: CacheEventMap['CACHE_STALE_HIT']) => staleHits.inc({ scope: e.scope, reason: enumLabel(e.reason) }),
    CACHE_TIMEOUT: (e: CacheEventMap['CACHE_TIMEOUT']) => timeouts.inc({ scope: e.scope, kind: e.timeout }),
    CACHE_L2_ERROR: (e: CacheEventMap['CACHE_L2_ERROR']) =>
      l2Errors.inc({ scope: e.scope, operation: e.operation, error_type: errorType(e.error) }),
  };
  for (const cache of caches) {
    for (const [type, listener] of Object.entries(listeners)) {
      unsubscribes.push(cache.on(type as keyof typeof listeners, listener as (event: unknown) => void));
    }
  }
}

function instrumentRegistry(
  registry: InstrumentedRegistry,
  breakers: readonly InstrumentedBreaker[],
  counter: MakeCounter,
  gauge: MakeGauge,
  histogram: MakeHistogram,
  unsubscribes: Array<() => void>,
) {
  const calls = counter(M.CALLS, 'Calls that ran a resilient() pipeline (cache hits do not), by outcome.', ['function', 'outcome']);
  const callDuration = histogram(M.CALL_DURATION, 'How long pipeline calls took, in seconds, retries included.', ['function', 'outcome']);
  const retries = counter(M.RETRIES, 'Failed attempts that another attempt followed.', ['function', 'error_type']);
  const timeouts = counter(M.TIMEOUTS, 'Attempts (or calls) aborted by the timeout policy.', ['function']);
  const transitions = counter(M.CIRCUIT_TRANSITIONS, 'Circuit breaker state changes, by the state entered.', ['breaker', 'state']);
  const bulkhead = counter(M.BULKHEAD_REJECTIONS, 'Calls the bulkhead turned away.', ['function']);
  const rateLimited = counter(M.RATE_LIMITER_REJECTIONS, 'Calls the rate limiter turned away.', ['function']);
  const fallbacks = counter(M.FALLBACKS, 'Calls the fallback answered, by the error it replaced.', ['function', 'error_type']);
  const slowCalls = counter(M.SLOW_CALLS, 'Attempts slower than slowCallThreshold.', ['function']);
  gauge(M.CIRCUIT_STATE, 'Circuit breaker state: 1 for the state the breaker is in, 0 for the others.', ['breaker', 'state'], function () {
    this.reset();
    for (const [breaker, now] of circuitStates(registry, breakers)) {
      for (const state of CIRCUIT_STATE_LABELS) this.set({ breaker, state }, state === now ? 1 : 0);
    }
  });

  const listener = (e: ResilienceEvent) => {
    const fn = e.functionName;
    switch (e.type) {
      case 'SUCCESS':
      case 'FALLBACK_USED':
      case 'FAILURE': {
        const outcome = e.type === 'SUCCESS' ? 'success' : e.type === 'FAILURE' ? 'failure' : 'fallback';
        calls.inc({ function: fn, outcome });
        callDuration.observe({ function: fn, outcome }, (e.durationMs ?? 0) / 1000);
        if (e.type === 'FALLBACK_USED') fallbacks.inc({ function: fn, error_type: errorType(e.error) });
        return;
      }
      case 'RETRY':
        retries.inc({ function: fn, error_type: e.error === undefined ? 'result' : errorType(e.error) });
        return;
      case 'TIMEOUT':
        // A cache's soft / hard timeout is forwarded as TIMEOUT without an attempt: counted by the cache's metrics.
        if (e.attempt !== undefined) timeouts.inc({ function: fn });
        return;
      case 'CIRCUIT_OPEN':
        transitions.inc({ breaker: e.breaker, state: e.isolated ? 'isolated' : 'open' });
        return;
      case 'CIRCUIT_HALF_OPEN':
        transitions.inc({ breaker: e.breaker, state: 'half_open' });
        return;
      case 'CIRCUIT_CLOSED':
        transitions.inc({ breaker: e.breaker, state: 'closed' });
        return;
      case 'BULKHEAD_REJECTED':
        bulkhead.inc({ function: fn });
        return;
      case 'RATE_LIMITED':
        rateLimited.inc({ function: fn });
        return;
      case 'SLOW_CALL':
        slowCalls.inc({ function: fn });
        return;
      default:
        return;
    }
  };
  for (const type of POLICY_EVENT_TYPES) unsubscribes.push(registry.on(type, listener as (event: unknown) => void));
}
