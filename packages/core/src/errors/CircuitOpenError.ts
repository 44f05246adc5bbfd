import { ResilienceError, hasCode } from './ResilienceError';

/** The circuit breaker is open (or isolated by hand): the call was rejected without running. */
export class CircuitOpenError extends ResilienceError {
  /** True when the circuit was opened by `isolate()`, not by failures. */
  readonly isolated: boolean;
  /**
   * How long until the circuit half-opens and lets a trial call through, in milliseconds (`0` when it is
   * due): what an HTTP `Retry-After` should say. `undefined` when the circuit is isolated (it waits for
   * `reset()`) or the breaker could not tell.
   */
  readonly retryAfterMs: number | undefined;

  constructor(context: { functionName?: string; isolated?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(
      'E_CIRCUIT_OPEN',
      context.isolated
        ? `circuit of ${context.functionName ?? 'the function'} is isolated: calls are rejected until reset()`
        : `circuit of ${context.functionName ?? 'the function'} is open after repeated failures: calls are rejected until it half-opens`,
      context,
    );
    this.name = 'CircuitOpenError';
    this.isolated = context.isolated ?? false;
    this.retryAfterMs = this.isolated ? undefined : context.retryAfterMs;
  }
}

/** True for a {@link CircuitOpenError}. */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return hasCode(error, 'E_CIRCUIT_OPEN');
}
