import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import type { BulkheadPolicy } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { BulkheadFullError } from '../errors/BulkheadFullError';
import type { BulkheadOptions } from '../options/ResilientOptions';

/**
 * A bulkhead on cockatiel's `BulkheadPolicy` (`maxConcurrent` running, `maxQueue` waiting), plus
 * `maxWait`: a queued call that gets no slot in time is rejected (cockatiel's queue has no deadline).
 */
export class Bulkhead {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly #maxWait: number;
  readonly #policy: BulkheadPolicy;

  /** @internal use `resilient({ bulkhead })` */
  constructor(options: BulkheadOptions) {
    const { maxConcurrent, maxQueue = 0, maxWait } = options;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new RangeError(`\`bulkhead.maxConcurrent\` must be a positive integer, got ${describe(maxConcurrent)}`);
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError(`\`bulkhead.maxQueue\` must be a non-negative integer, got ${describe(maxQueue)}`);
    }
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
    this.#maxWait = maxWait === undefined ? Number.POSITIVE_INFINITY : toMs(maxWait, 'bulkhead.maxWait');
    this.#policy = bulkhead(maxConcurrent, maxQueue);
  }

  /** Free execution slots now. */
  get executionSlots(): number {
    return this.#policy.executionSlots;
  }

  /** Free queue places now. */
  get queueSlots(): number {
    return this.#policy.queueSlots;
  }

  /** @internal */
  execute<T>(run: () => Promise<T>, signal: AbortSignal, functionName: string, onReject: () => void): Promise<T> {
    const full = (waited: boolean, cause?: unknown) => {
      onReject();
      return new BulkheadFullError({ functionName, maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue, waited, cause });
    };
    if (this.#maxWait === Number.POSITIVE_INFINITY) {
      return this.#policy.execute(() => run(), signal).catch((error: unknown) => {
        throw error instanceof BulkheadRejectedError ? full(false, error) : error;
      });
    }
    return new Promise<T>((resolve, reject) => {
      const deadline = new AbortController();
      let started = false;
      const timer = setTimeout(() => {
        if (started) return;
        deadline.abort(); // cockatiel drops the queued call when its turn comes
        reject(full(true));
      }, this.#maxWait);
      this.#policy
        .execute(() => {
          started = true;
          clearTimeout(timer);
          return run();
        }, AbortSignal.any([signal, deadline.signal]))
        .then(resolve, (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof BulkheadRejectedError ? full(false, error) : error);
        });
    });
  }
}
