import type { Cache } from '@toolkit/cache';
import type { EventTypeName } from './events/ResilienceEvents';
import type { CircuitBreaker } from './policies/CircuitBreaker';
import type { ResilienceRegistry } from './ResilienceRegistry';

/**
 * The vocabulary that metric exporters (`@toolkit/otel`, `@toolkit/prometheus`, or one of your own for
 * StatsD or Datadog) share, so that every exporter counts the same things under the same meanings.
 */

/** What an exporter needs of a `Cache`: its events and its stats. */
export type InstrumentedCache = Pick<Cache, 'on' | 'stats'>;

/** What an exporter needs of a `ResilienceRegistry` (`defaultRegistry` for the module-level `resilient()`). */
export type InstrumentedRegistry = Pick<ResilienceRegistry, 'on' | 'health' | 'cache'>;

/** A circuit breaker whose state is reported: `policy.circuitBreaker`, `fn.circuitBreaker`. */
export type InstrumentedBreaker = Pick<CircuitBreaker, 'name' | 'state'>;

/** What an exporter is asked to instrument: a cache, a registry, or both. */
export interface TelemetryTargets {
  cache?: InstrumentedCache;
  registry?: InstrumentedRegistry;
}

/**
 * The policy events an exporter listens to on a registry. Not `'*'`: the `CACHE_*` events are left out,
 * since the registry's cache is instrumented directly (with the L2 and load events its stream lacks), so
 * a hit through `resilient()` calls no exporter listener.
 */
export const POLICY_EVENT_TYPES = Object.freeze([
  'SUCCESS',
  'FALLBACK_USED',
  'FAILURE',
  'RETRY',
  'TIMEOUT',
  'CIRCUIT_OPEN',
  'CIRCUIT_HALF_OPEN',
  'CIRCUIT_CLOSED',
  'BULKHEAD_REJECTED',
  'RATE_LIMITED',
  'SLOW_CALL',
] as const satisfies readonly EventTypeName[]);

/** Circuit states as metric label values (lowercase snake_case, as OpenTelemetry and Prometheus write enums). */
export const CIRCUIT_STATE_LABELS = Object.freeze(['closed', 'open', 'half_open', 'isolated'] as const);

/** Load and call durations, in seconds: 0.5 ms to 10 s. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * The `error.type` of an error: its `name` (`TimeoutError`, `CircuitOpenError`, `TypeError`), which is its
 * class name for our errors and for built-ins; `_OTHER` for a thrown non-Error. Bounded to 64 characters,
 * so that it can be a metric label.
 */
export function errorType(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name;
    if (typeof name === 'string' && name !== '' && name.length <= 64) return name;
    return error.constructor.name || '_OTHER';
  }
  return '_OTHER';
}

/** An enum value as a label: `'soft-timeout'` → `'soft_timeout'`, `'half-open'` → `'half_open'`. */
export function enumLabel(value: string): string {
  return value.replace(/-/g, '_');
}

/**
 * Checks an exporter's `{ cache, registry }` options and returns the distinct caches to instrument (the
 * given one and the registry's), so that a cache reached both ways is counted once.
 *
 * @throws TypeError when neither is given, or one is not a `Cache` / `ResilienceRegistry`.
 */
export function telemetryCaches(options: TelemetryTargets): InstrumentedCache[] {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('instrument() takes an options object such as { cache } or { registry }');
  }
  const { cache, registry } = options;
  if (cache === undefined && registry === undefined) {
    throw new TypeError('instrument() needs a `cache`, a `registry`, or both');
  }
  for (const [name, value] of [['cache', cache], ['registry', registry]] as const) {
    if (value !== undefined && typeof (value as { on?: unknown } | null)?.on !== 'function') {
      throw new TypeError(`\`${name}\` must be a ${name === 'cache' ? 'Cache' : 'ResilienceRegistry'} (an object with on())`);
    }
  }
  return [...new Set([cache, registry?.cache].filter((c): c is InstrumentedCache => c !== undefined))];
}

/**
 * The state of every breaker to report: the registry's named ones, then `extra` (an unnamed breaker belongs
 * to its pipeline only), as label values, by breaker name.
 */
export function circuitStates(registry: InstrumentedRegistry, extra: readonly InstrumentedBreaker[]): Map<string, string> {
  const states = new Map<string, string>();
  for (const [name, health] of Object.entries(registry.health())) states.set(name, enumLabel(health.state));
  for (const breaker of extra) states.set(breaker.name, enumLabel(breaker.state));
  return states;
}
