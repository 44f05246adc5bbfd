import { ResilienceError, hasCode } from './ResilienceError';

/** An attempt (or, with `perAttempt: false`, the whole call) took longer than `timeout.after`. */
export class TimeoutError extends ResilienceError {
  readonly timeoutMs: number;
  /** The attempt that timed out (1-based), when timeouts are per attempt. */
  readonly attempt: number | undefined;

  constructor(context: { functionName?: string; timeoutMs: number; attempt?: number; cause?: unknown }) {
    super(
      'E_TIMEOUT',
      `${context.functionName ?? 'the function'} took longer than ${context.timeoutMs} ms` +
        (context.attempt === undefined ? '' : ` (attempt ${context.attempt})`),
      context,
    );
    this.name = 'TimeoutError';
    this.timeoutMs = context.timeoutMs;
    this.attempt = context.attempt;
  }
}

/** True for a {@link TimeoutError}. */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return hasCode(error, 'E_TIMEOUT');
}
