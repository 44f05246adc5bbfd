export { resilient, on, defaultRegistry, ResilienceRegistry } from './ResilienceRegistry';
export type { BreakerHealth, ResiliencePolicy, ResilienceRegistryOptions } from './ResilienceRegistry';
export type { ResilientFunction } from './Pipeline';
export { resilientMethod } from './resilientMethod';
export { attemptSignal, currentAttempt } from './context';
export type { AttemptContext } from './context';
export type {
  BulkheadOptions,
  CircuitBreakerOptions,
  ErrorMatcher,
  FallbackHandler,
  FallbackOptions,
  RateLimiterOptions,
  ResilientOptions,
  RetryOptions,
  TimeoutOptions,
} from './options/ResilientOptions';
export { EventType, resilienceEvent } from './events/ResilienceEvents';
export { PipelineChannel } from './diagnostics';
export type { AttemptTrace, CallTrace } from './diagnostics';
export type { EventTypeName, ResilienceEvent, ResilienceEventListener, ResilienceEventMap } from './events/ResilienceEvents';
export { CircuitBreaker } from './policies/CircuitBreaker';
export type { CircuitStateName } from './policies/CircuitBreaker';
export { Bulkhead } from './policies/Bulkhead';
export { RateLimiterPolicy } from './policies/RateLimiterPolicy';
export type { RateLimiterPolicyOptions, RateLimiterRejectEvent } from './policies/RateLimiterPolicy';
export { AggressiveTimeout, timeoutPolicy } from './policies/AggressiveTimeout';
export { retryAfterMs } from './policies/retryAfter';
export { presets, httpStatus, isTransientHttpError, isClientHttpError } from './presets';
export { ResilienceError, isResilienceError } from './errors/ResilienceError';
export { CircuitOpenError, isCircuitOpenError } from './errors/CircuitOpenError';
export { BulkheadFullError, isBulkheadFullError } from './errors/BulkheadFullError';
export { RateLimitedError, isRateLimitedError } from './errors/RateLimitedError';
export { TimeoutError, isTimeoutError } from './errors/TimeoutError';
export {
  CIRCUIT_STATE_LABELS,
  DURATION_BUCKETS_SECONDS,
  POLICY_EVENT_TYPES,
  circuitStates,
  enumLabel,
  errorType,
  telemetryCaches,
} from './telemetry';
export type { InstrumentedBreaker, InstrumentedCache, InstrumentedRegistry, TelemetryTargets } from './telemetry';
