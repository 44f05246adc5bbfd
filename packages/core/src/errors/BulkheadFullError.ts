import { ResilienceError, hasCode } from './ResilienceError';

/** Every bulkhead slot and queue place was taken, or the call waited in the queue longer than `maxWait`. */
export class BulkheadFullError extends ResilienceError {
  readonly maxConcurrent: number;
  readonly maxQueue: number;

  constructor(context: { functionName?: string; maxConcurrent: number; maxQueue: number; waited?: boolean; cause?: unknown }) {
    super(
      'E_BULKHEAD_FULL',
      context.waited
        ? `bulkhead of ${context.functionName ?? 'the function'} gave no slot within maxWait`
        : `bulkhead of ${context.functionName ?? 'the function'} is full (${context.maxConcurrent} running, ${context.maxQueue} queued)`,
      context,
    );
    this.name = 'BulkheadFullError';
    this.maxConcurrent = context.maxConcurrent;
    this.maxQueue = context.maxQueue;
  }
}

/** True for a {@link BulkheadFullError}. */
export function isBulkheadFullError(error: unknown): error is BulkheadFullError {
  return hasCode(error, 'E_BULKHEAD_FULL');
}
