import { toMs } from '@toolkit/cache';
import {
  EventEmitter,
  TaskCancelledError,
  type Event,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import { RateLimitedError } from '../errors/RateLimitedError';

/** Options of a {@link RateLimiterPolicy}. */
export interface RateLimiterPolicyOptions {
  /**
   * How many calls may start per `periodMs`; also the size of the bucket, so up to `maxCalls` calls
   * may start at once after a quiet spell. A positive integer.
   */
  maxCalls: number;
  /**
   * The period over which `maxCalls` tokens are refilled, in milliseconds. Tokens come back one at a
   * time, every `periodMs / maxCalls` ms, not all at once at the end of the period. Positive and finite.
   */
  periodMs: number;
  /**
   * How long a call may wait for a token, in milliseconds. A call that would wait longer is rejected
   * at once with a `RateLimitedError`. `Infinity` waits as long as it takes.
   *
   * @default 0 (never wait: reject when no token is available now)
   */
  maxWaitMs?: number;
  /** The name of the wrapped function, used in error messages. */
  functionName?: string;
  /**
   * The clock, in milliseconds. Only differences between two readings matter.
   *
   * @default () => performance.now()
   */
  now?: () => number;
}

/** Payload of {@link RateLimiterPolicy.onReject}. */
export interface RateLimiterRejectEvent {
  /** How long until the rejected call would have got its token, in milliseconds (may be fractional). */
  retryAfterMs: number;
}

/** A call waiting in the queue for a token. */
interface Waiter {
  /** Takes the call out of the waiting state and runs it (its token is already taken). */
  start(): void;
  /** Takes the call out of the queue and rejects it, when its signal aborts. */
  readonly onAbort: () => void;
}

/**
 * Tokens are floating-point numbers: `0.1 + 0.2` style rounding must not make a token that is due
 * look just short of whole (which would cost one more timer tick).
 */
const EPSILON = 1e-9;

/** The signal handed to the function when the caller gives none (as cockatiel does). */
const neverAbortedSignal = new AbortController().signal;

/**
 * A rate limiter for cockatiel pipelines: a token bucket holding up to `maxCalls` tokens, refilled
 * continuously at `maxCalls / periodMs` tokens per millisecond. Every call takes one token, so after a
 * quiet spell up to `maxCalls` calls start at once, then one call every `periodMs / maxCalls` ms.
 *
 * A call that finds no token waits, if its token would come within `maxWaitMs`, in a first-in
 * first-out queue: waiting calls start in arrival order, and a call arriving later never overtakes
 * one that waits. Otherwise it is rejected at once with a {@link RateLimitedError} whose
 * `retryAfterMs` says when its token would have come. A waiting call whose signal aborts leaves the
 * queue, without taking a token, and is rejected with cockatiel's `TaskCancelledError`.
 *
 * The limiter counts call starts, not concurrent calls (that is a bulkhead's job). An error thrown by
 * the function reaches the caller unchanged; its token stays spent.
 *
 * Implements cockatiel's `IPolicy`, so it composes with `wrap()` like any cockatiel policy.
 *
 * @example
 * ```ts
 * import { wrap, retry, handleAll, ExponentialBackoff } from 'cockatiel';
 *
 * // 10 calls per second, bursts of up to 10; a call may wait up to 500 ms for its turn.
 * const limiter = new RateLimiterPolicy({ maxCalls: 10, periodMs: 1000, maxWaitMs: 500 });
 * limiter.onReject(({ retryAfterMs }) => console.warn(`rate limited, retry in ${retryAfterMs} ms`));
 *
 * const user = await limiter.execute(({ signal }) => fetch('/api/user/1', { signal }));
 *
 * // Or inside a pipeline:
 * const policy = wrap(retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }), limiter);
 * await policy.execute(({ signal }) => fetch('/api/user/1', { signal }));
 * ```
 */
export class RateLimiterPolicy implements IPolicy<IDefaultPolicyContext> {
  /**
   * Virtual property for cockatiel's types only: this policy adds no alternative return value.
   * @deprecated Holds nothing; do not read it.
   */
  declare readonly _altReturn: never;

  /** The bucket's capacity: at most this many calls start at once. */
  readonly maxCalls: number;
  /** The time it takes to refill a whole bucket, in milliseconds. */
  readonly periodMs: number;
  /** How long a call may wait for its token, in milliseconds (`0`: never wait). */
  readonly maxWaitMs: number;

  readonly #functionName: string | undefined;
  readonly #now: () => number;
  /** Tokens added per millisecond. */
  readonly #ratePerMs: number;
  /** Tokens in the bucket at `#refilledAt` (fractional; never above `maxCalls`). */
  #tokens: number;
  #refilledAt: number;
  readonly #queue: Waiter[] = [];
  /** The one timer that wakes the queue's head when its token is due. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly #rejectEmitter = new EventEmitter<RateLimiterRejectEvent>();
  readonly #successEmitter = new EventEmitter<ISuccessEvent>();
  readonly #failureEmitter = new EventEmitter<IFailureEvent>();

  /**
   * Fires when a call is rejected because its token would not come within `maxWaitMs`; `retryAfterMs`
   * is the same as the thrown {@link RateLimitedError}'s. Not fired for a call cancelled by its signal.
   */
  readonly onReject: Event<RateLimiterRejectEvent> = this.#rejectEmitter.addListener;

  /**
   * Fires when the function returns a value (the wait for a token is not part of `duration`).
   * As in cockatiel, once per call that got through this policy.
   */
  readonly onSuccess: Event<ISuccessEvent> = this.#successEmitter.addListener;

  /**
   * Fires when the function throws, with `handled: false` (this policy handles no errors: the error
   * reaches the caller unchanged). Not fired for calls the limiter itself rejects or cancels: those
   * never ran — see {@link RateLimiterPolicy.onReject}.
   */
  readonly onFailure: Event<IFailureEvent> = this.#failureEmitter.addListener;

  /**
   * @param options see {@link RateLimiterPolicyOptions}
   * @throws TypeError / RangeError naming the option, when an option is not valid
   */
  constructor(options: RateLimiterPolicyOptions) {
    const { maxCalls, functionName, now = () => performance.now() } = options;
    if (typeof maxCalls !== 'number' || Number.isNaN(maxCalls)) {
      throw new TypeError(`\`maxCalls\` must be a positive integer, got ${describeValue(maxCalls)}`);
    }
    if (!Number.isSafeInteger(maxCalls) || maxCalls < 1) {
      throw new RangeError(`\`maxCalls\` must be a positive integer, got ${maxCalls}`);
    }
    const periodMs = toMs(options.periodMs, 'periodMs');
    if (periodMs === 0 || !Number.isFinite(periodMs)) {
      throw new RangeError(`\`periodMs\` must be positive and finite, got ${periodMs}`);
    }
    const maxWaitMs = toMs(options.maxWaitMs ?? 0, 'maxWaitMs');
    if (typeof now !== 'function') {
      throw new TypeError(`\`now\` must be a function returning milliseconds, got ${describeValue(now)}`);
    }

    this.maxCalls = maxCalls;
    this.periodMs = periodMs;
    this.maxWaitMs = maxWaitMs;
    this.#functionName = functionName;
    this.#now = now;
    this.#ratePerMs = maxCalls / periodMs;
    this.#tokens = maxCalls;
    this.#refilledAt = now();
  }

  /**
   * The tokens in the bucket now: a fractional number between `0` and `maxCalls` (`2.5` means two
   * calls may start now, and the third token is half refilled). `Math.floor()` it for the number of
   * calls that may start now — when no call is waiting: tokens go to waiting calls first.
   */
  get availableTokens(): number {
    const elapsed = Math.max(0, this.#now() - this.#refilledAt);
    const tokens = Math.min(this.maxCalls, this.#tokens + elapsed * this.#ratePerMs);
    return Math.max(0, tokens);
  }

  /** The number of calls waiting for a token. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Runs `fn` once a token is available: at once when the bucket has one (and nobody waits), after
   * waiting in line when the token comes within `maxWaitMs`.
   *
   * @param fn the function to run; it receives the caller's `signal` (or a signal that never aborts)
   * @param signal aborts the wait for a token (the call then rejects with `TaskCancelledError`); it is
   *   also handed to `fn`, which decides for itself what an abort means once it runs
   * @returns what `fn` returns; an error `fn` throws is rethrown unchanged
   * @throws a {@link RateLimitedError} when the call's token would not come within `maxWaitMs`
   * @throws cockatiel's `TaskCancelledError` when `signal` is aborted before the call got its token
   */
  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal = neverAbortedSignal,
  ): Promise<T> {
    if (signal.aborted) {
      throw new TaskCancelledError('Operation cancelled before it got a rate limit token');
    }

    // Serve the callers already waiting first: a token that has just come is theirs, not ours.
    this.#drain();
    if (this.#queue.length === 0 && this.#tokens >= 1 - EPSILON) {
      this.#tokens -= 1;
      return this.#run(fn, signal);
    }

    const waitMs = this.#waitFor(this.#queue.length);
    if (waitMs > this.maxWaitMs) {
      this.#rejectEmitter.emit({ retryAfterMs: waitMs });
      throw new RateLimitedError({ functionName: this.#functionName, retryAfterMs: waitMs });
    }

    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          this.#run(fn, signal).then(resolve, reject);
        },
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index === -1) return;
          this.#queue.splice(index, 1);
          if (this.#queue.length === 0) this.#clearTimer();
          // The timer stays right for the new head: it waits for the same next token.
          reject(new TaskCancelledError('Operation cancelled while waiting for a rate limit token'));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#schedule();
    });
  }

  /** Adds the tokens refilled since the last reading of the clock. */
  #refill(): void {
    const now = this.#now();
    if (now <= this.#refilledAt) return; // a clock that stands still or goes back adds nothing
    this.#tokens = Math.min(this.maxCalls, this.#tokens + (now - this.#refilledAt) * this.#ratePerMs);
    this.#refilledAt = now;
  }

  /**
   * The time, in ms, until a call with `ahead` calls waiting before it would get its token: it needs
   * `ahead + 1` tokens, each waiter ahead taking one. Call right after `#refill()`.
   */
  #waitFor(ahead: number): number {
    const missing = ahead + 1 - this.#tokens;
    return missing <= EPSILON ? 0 : (missing * this.periodMs) / this.maxCalls;
  }

  /** Starts waiting calls, in order, while there are tokens for them. */
  #drain(): void {
    this.#refill();
    // Re-read the queue on every turn: a started function may call execute() again (re-entrancy).
    while (this.#tokens >= 1 - EPSILON) {
      const waiter = this.#queue.shift();
      if (waiter === undefined) break;
      this.#tokens -= 1;
      waiter.start();
    }
    if (this.#queue.length === 0) this.#clearTimer();
  }

  /** Arms the timer for the head of the queue, unless it is armed already or nobody waits. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    // Whole milliseconds, rounded up: the timer must not fire before the token is due. Should it fire
    // a hair early anyway (a clock other than the timers' own), the queue is simply re-armed.
    const delay = Math.ceil(this.#waitFor(0));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
      this.#schedule();
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Runs the function (its token already taken) and reports the outcome, as cockatiel's executor does. */
  async #run<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
    const startedAt = performance.now();
    let value: T;
    try {
      value = await fn({ signal });
    } catch (error) {
      this.#failureEmitter.emit({ duration: performance.now() - startedAt, handled: false, reason: { error } });
      throw error;
    }
    // Outside the try: a throwing onSuccess listener must not be reported as a failure of fn.
    this.#successEmitter.emit({ duration: performance.now() - startedAt });
    return value;
  }
}

/** A short rendering of a bad option value for an error message. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
