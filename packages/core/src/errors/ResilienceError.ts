const brand = Symbol.for('@toolkit/core/ResilienceError');

/**
 * Base class of the errors `resilient()` raises itself (a rejected call: open circuit, full bulkhead,
 * rate limit, timeout). Errors of the wrapped function are never wrapped: they reach the caller as they
 * were thrown. `isResilienceError()` works across two installed copies of this package.
 */
export class ResilienceError extends Error {
  /** A stable code such as `'E_CIRCUIT_OPEN'`. */
  readonly code: string;
  /** The name of the wrapped function (or pipeline). */
  readonly functionName: string | undefined;
  readonly [brand] = true;

  constructor(code: string, message: string, context: { functionName?: string; cause?: unknown } = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'ResilienceError';
    this.code = code;
    this.functionName = context.functionName;
  }
}

/** True for any error raised by `@toolkit/core` (from any installed copy). */
export function isResilienceError(error: unknown): error is ResilienceError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true;
}

/** @internal a guard for one error code */
export function hasCode(error: unknown, code: string): boolean {
  return isResilienceError(error) && error.code === code;
}
