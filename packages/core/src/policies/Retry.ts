import { DelegateBackoff, handleWhen, retry } from 'cockatiel';
import type { IRetryBackoffContext, RetryPolicy } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { callStorage } from '../context';
import { resilienceEvent } from '../events/ResilienceEvents';
import { checkMatchers, isRejection, matchesAny } from '../matchers';
import type { RetryOptions } from '../options/ResilientOptions';
import { abortError, isAbort, Passthrough } from './Passthrough';
import { retryAfterMs } from './retryAfter';

/**
 * Retries on cockatiel's `RetryPolicy`: attempts, backoff with factor, cap and jitter (or a delay
 * function), which errors and results are retried, and `Retry-After` hints. Emits `RETRY` and
 * `RETRY_EXHAUSTED` for the call running in the current async context.
 * @internal
 */
export class Retry {
  readonly maxAttempts: number;
  readonly #policy: RetryPolicy;

  constructor(options: RetryOptions) {
    const {
      maxAttempts = 3,
      delay = '100ms',
      backoffFactor = 2,
      maxDelay = '30s',
      jitter = true,
      retryOnResult,
      honorRetryAfter = true,
    } = options;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`\`retry.maxAttempts\` must be a positive integer (total calls, the first included), got ${describe(maxAttempts)}`);
    }
    if (typeof backoffFactor !== 'number' || !(backoffFactor >= 1)) {
      throw new RangeError(`\`retry.backoffFactor\` must be a number >= 1, got ${describe(backoffFactor)}`);
    }
    if (typeof jitter !== 'boolean') throw new TypeError(`\`retry.jitter\` must be a boolean, got ${describe(jitter)}`);
    if (retryOnResult !== undefined && typeof retryOnResult !== 'function') {
      throw new TypeError(`\`retry.retryOnResult\` must be a function (result) => boolean, got ${describe(retryOnResult)}`);
    }
    const retryOn = checkMatchers(options.retryOn, 'retry.retryOn');
    const baseDelay = typeof delay === 'function' ? 0 : toMs(delay, 'retry.delay');
    const cap = toMs(maxDelay, 'retry.maxDelay');
    this.maxAttempts = maxAttempts;

    const delayFor = (context: IRetryBackoffContext<unknown>): number => {
      const error = 'error' in context.result ? context.result.error : undefined;
      if (honorRetryAfter && error !== undefined) {
        const hint = retryAfterMs(error);
        if (hint !== undefined) return hint;
      }
      if (typeof delay === 'function') {
        const ms = delay(context.attempt, error);
        if (typeof ms !== 'number' || !(ms >= 0)) {
          throw new TypeError(`the \`retry.delay\` function must return a non-negative number of ms, got ${describe(ms)}`);
        }
        return ms;
      }
      const grown = Math.min(cap, baseDelay * backoffFactor ** (context.attempt - 1));
      return jitter ? grown / 2 + (Math.random() * grown) / 2 : grown;
    };

    const retryable = (error: unknown) =>
      !(error instanceof Passthrough) && !isRejection(error) && !isAbort(error) && (retryOn === undefined || matchesAny(retryOn, error));
    let handled = handleWhen(retryable);
    if (retryOnResult !== undefined) handled = handled.orWhenResult((r) => retryOnResult(r));
    // cockatiel's own sleep cannot be cut short by an abort (its timer would run on, for hours with a
    // Retry-After hint): cockatiel waits 0 and the next attempt awaits our abortable sleep instead.
    this.#policy = retry(handled, {
      maxAttempts: maxAttempts - 1,
      backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
        const call = callStorage.getStore();
        if (call === undefined) return delayFor(context);
        call.retryDelay = Math.min(delayFor(context), MAX_TIMER_MS);
        // Start the wait now, when cockatiel would start its own timer, so the timing is the same.
        call.retrySleep = sleep(call.retryDelay, context.signal);
        call.retrySleep.catch(() => undefined); // awaited by the next attempt; an abort may come first
        return 0;
      }),
    });

    this.#policy.onRetry((event) => {
      const call = callStorage.getStore();
      if (call === undefined) return;
      call.emit((fn) =>
        resilienceEvent.RETRY(
          fn,
          { key: call.key(), attempt: event.attempt, error: 'error' in event ? event.error : undefined },
          { delayMs: call.retryDelay, result: 'value' in event ? event.value : undefined },
        ),
      );
    });
    this.#policy.onGiveUp((reason) => {
      const call = callStorage.getStore();
      if (call === undefined || call.signal.aborted) return;
      call.emit((fn) =>
        resilienceEvent.RETRY_EXHAUSTED(
          fn,
          { key: call.key(), attempt: call.attempts, error: 'error' in reason ? reason.error : undefined },
          { result: 'value' in reason ? reason.value : undefined },
        ),
      );
    });
  }

  /** Runs `attempt` until it succeeds, its failure is not retryable, or the attempts run out. */
  execute<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    return this.#policy.execute(async (context) => {
      const call = callStorage.getStore();
      if (call?.retrySleep !== undefined) {
        const wait = call.retrySleep;
        call.retrySleep = undefined;
        await wait;
      }
      return attempt(context.signal);
    }, signal);
  }
}

/** setTimeout's limit: a longer delay would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts (clearing the timer). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
