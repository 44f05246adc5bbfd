import { ResilienceError, hasCode } from './ResilienceError';

/** The rate limiter had no token for the call, and none would come within `maxWait`. */
export class RateLimitedError extends ResilienceError {
  /** How long until a token would be available, in milliseconds. */
  readonly retryAfterMs: number;

  constructor(context: { functionName?: string; retryAfterMs: number; cause?: unknown }) {
    super(
      'E_RATE_LIMITED',
      `rate limit of ${context.functionName ?? 'the function'} reached: next call allowed in ${Math.ceil(context.retryAfterMs)} ms`,
      context,
    );
    this.name = 'RateLimitedError';
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** True for a {@link RateLimitedError}. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return hasCode(error, 'E_RATE_LIMITED');
}
