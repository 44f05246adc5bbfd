import { DelegateBackoff, handleWhen, retry } from 'cockatiel';
import type { IRetryBackoffContext, RetryPolicy } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { isCallState } from '../CallState';
import type { CallState } from '../CallState';
import { resilienceEvent } from '../events/ResilienceEvents';
import { checkMatchers, isRejection, matchesAny } from '../matchers';
import type { RetryOptions } from '../options/ResilientOptions';
import { abortError, isAbort, Passthrough } from './Passthrough';
import { retryAfterMs } from './retryAfter';

/**
 * Retries on cockatiel's `RetryPolicy`: attempts, backoff with factor, cap and jitter (or a delay
 * function), which errors and results are retried, and `Retry-After` hints. Emits `RETRY` and
 * `RETRY_EXHAUSTED` for the call it runs (a {@link CallState}, handed to cockatiel as its signal).
 * @internal
 */
export class Retry {
  readonly maxAttempts: number;
  readonly #policy: RetryPolicy;
  readonly #retryable: (error: unknown) => boolean;
  readonly #retryOnResult: ((result: unknown) => boolean) | undefined;
  /** cockatiel's attempt function, shared by every call: its context's signal is the call. */
  readonly #attempt: (context: { signal: AbortSignal }) => Promise<unknown>;
  /** One attempt of a call (the layers inside retry). */
  readonly #next: (call: CallState) => Promise<unknown>;

  /** @param next runs one attempt of a call (the breaker and the timeout inside, then the function) */
  constructor(options: RetryOptions, next: (call: CallState) => Promise<unknown>) {
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
    this.#next = next;

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
    this.#retryable = retryable;
    this.#retryOnResult = retryOnResult;
    let handled = handleWhen(retryable);
    // A result to retry comes back marked (see #attempt), so the outcome of a call says whether it ran out.
    if (retryOnResult !== undefined) handled = handled.orWhenResult((r) => r instanceof RetryableResult);
    // cockatiel's own sleep cannot be cut short by an abort (its timer would run on, for hours with a
    // Retry-After hint): cockatiel waits 0 and the next attempt awaits our abortable sleep instead.
    // The backoff gets the call back as its context's signal (see CallState), and reports the RETRY:
    // cockatiel calls it right before its own onRetry, in the same tick.
    this.#policy = retry(handled, {
      maxAttempts: maxAttempts - 1,
      backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
        const call = context.signal;
        if (!isCallState(call)) return delayFor(context);
        const result = context.result;
        const ms = (call.retryDelay = Math.min(delayFor(context), MAX_TIMER_MS));
        // Start the wait now, when cockatiel would start its own timer, so the timing is the same.
        const wait = (call.retrySleep = sleep(ms, call.inner));
        wait.catch(() => undefined); // awaited by the next attempt; an abort may come first
        call.emit((fn) =>
          resilienceEvent.RETRY(
            fn,
            { key: call.key(), attempt: context.attempt, error: 'error' in result ? result.error : undefined },
            { delayMs: ms, result: 'value' in result ? unmark(result.value) : undefined },
          ),
        );
        return 0;
      }),
    });
    this.#attempt = (context: { signal: AbortSignal }) => {
      const call = context.signal as unknown as CallState;
      const first = call.firstFailure;
      if (first !== undefined) {
        // The first attempt already ran (see execute): its failure is this attempt's outcome.
        call.firstFailure = undefined;
        return Promise.reject(first.error);
      }
      const wait = call.retrySleep;
      let outcome: Promise<unknown>;
      if (wait === undefined) outcome = next(call);
      else {
        call.retrySleep = undefined;
        outcome = wait.then(() => next(call));
      }
      return retryOnResult === undefined ? outcome : outcome.then((value) => (retryOnResult(value) ? new RetryableResult(value) : value));
    };
  }

  /**
   * Whether the first attempt of `call` may run outside cockatiel (see {@link execute}): no
   * `retryOnResult` to apply to its value, and nobody listened when the call started.
   */
  runsFirstAttemptAlone(call: CallState): boolean {
    return this.#retryOnResult === undefined && !call.observed;
  }

  /**
   * Goes on after a first attempt that ran outside cockatiel and failed with `error`: cockatiel's retry
   * takes that failure as the outcome of its own first attempt, so it decides, with the same error,
   * whether to retry, exactly as if it had run that attempt.
   */
  afterFirstFailure<T>(call: CallState, error: unknown): Promise<T> {
    call.firstFailure = { error };
    return this.#policy.execute(this.#attempt, call as unknown as AbortSignal) as Promise<T>;
  }

  /**
   * Runs the call's attempts (each through `next`, given to the constructor) until one succeeds, its
   * failure is not retryable, or the attempts run out (then `RETRY_EXHAUSTED`, and the last outcome).
   */
  execute<T>(call: CallState): Promise<T> {
    if (this.runsFirstAttemptAlone(call)) {
      // The first attempt runs here, outside cockatiel: when it succeeds (most calls) cockatiel's retry
      // has nothing to decide, and its two async functions would cost four promises.
      return this.#next(call).catch((error: unknown) => this.afterFirstFailure(call, error)) as Promise<T>;
    }
    // The call is cockatiel's signal: it reads `aborted` (the inner layers' signal) and hands it back.
    const run = this.#policy.execute(this.#attempt, call as unknown as AbortSignal) as Promise<unknown>;
    return run.then(
      (value) => {
        if (!(value instanceof RetryableResult)) return value as T;
        this.#exhausted(call, undefined, value.value);
        return value.value as T;
      },
      (error: unknown) => {
        // A retryable error ends a call only when cockatiel gave up on it: the attempts ran out, or the
        // signal of the inner layers aborted (then only a caller's abort is no exhaustion to report).
        if ((call.attempts >= this.maxAttempts || call.aborted) && this.#retryable(error)) this.#exhausted(call, error, undefined);
        throw error;
      },
    );
  }

  #exhausted(call: CallState, error: unknown, result: unknown): void {
    if (call.signal.aborted) return;
    call.emit((fn) => resilienceEvent.RETRY_EXHAUSTED(fn, { key: call.key(), attempt: call.attempts, error }, { result }));
  }
}

/** A result that `retryOnResult` asked to retry, on its way through cockatiel's retry. */
class RetryableResult {
  constructor(readonly value: unknown) {}
}

const unmark = (value: unknown) => (value instanceof RetryableResult ? value.value : value);

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
