import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import type { BulkheadPolicy } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { BulkheadFullError } from '../errors/BulkheadFullError';
import { abortError } from './Passthrough';
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
    // A queued call can give up before its turn (maxWait, or the caller aborts): it must then leave the
    // queue at once, not hold its place until cockatiel reaches it.
    return new Promise<T>((resolve, reject) => {
      const deadline = new AbortController();
      const queued = AbortSignal.any([signal, deadline.signal]);
      let started = false;
      const giveUp = (error: unknown) => {
        if (started) return;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        deadline.abort(); // cockatiel drops the queued call when its turn comes...
        this.#leaveQueue(queued); // ...but it would hold a queue place until then
        reject(error);
      };
      const onAbort = () => giveUp(abortError(signal));
      const timer =
        this.#maxWait === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => giveUp(full(true)), this.#maxWait);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#policy
        .execute(() => {
          started = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          return run();
        }, queued)
        .then(resolve, (error: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          reject(error instanceof BulkheadRejectedError ? full(false, error) : error);
        });
    });
  }

  /** Takes a call that gave up out of cockatiel's queue (cockatiel 4 keeps it in `queue` until its turn). */
  #leaveQueue(signal: AbortSignal): void {
    const queue = (this.#policy as unknown as { queue?: Array<{ signal: AbortSignal }> }).queue;
    const index = queue?.findIndex((item) => item.signal === signal) ?? -1;
    if (index !== -1) queue?.splice(index, 1);
  }
}
