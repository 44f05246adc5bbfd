import { toMs } from '@toolkit/cache';
import type { Duration } from '@toolkit/cache';
import { neverAborted } from '../context';
import { TimeoutError } from '../errors/TimeoutError';
import { DeadlineQueue } from './DeadlineQueue';
import type { Deadline } from './DeadlineQueue';
import { LazyAbort } from './LazyAbort';
import { abortError } from './Passthrough';

/**
 * What a {@link Timeout} reports, and how, for attempts run with an argument of type `C` (the pipeline's
 * call): one object for every attempt, so that an attempt costs no context object or closure of its own.
 * @internal
 */
export interface TimeoutContext<C> {
  /** For the `TimeoutError`'s message and fields, read at the deadline: the function's name, the attempt number. */
  describe(arg: C): { readonly functionName?: string | undefined; readonly attempt?: number | undefined };
  /** Called once when the attempt times out (not when the caller aborts), after the signal aborted. */
  onTimeout(arg: C): void;
  /**
   * What the attempt's signal aborts with at the deadline: the `TimeoutError` the caller gets
   * (`'timeout'`), or a `DOMException` named `AbortError` (`'abort'`), which the pipeline's layers
   * inside a whole-call timeout take as a cancellation: not retried, not counted by the breaker.
   * @default 'timeout'
   */
  readonly abortReason?: 'timeout' | 'abort';
  /**
   * What the caller's promise takes instead of the attempt's value (the breaker records the success):
   * as `execute(...).then(fulfilled)` would, without that promise. A throw rejects the caller's promise.
   */
  readonly fulfilled?: (arg: C, value: unknown) => unknown;
  /**
   * What the caller's promise takes instead of the attempt's failure (its error, the `TimeoutError`, the
   * caller's abort reason), a value or a promise: as `execute(...).then(undefined, rejected)` would,
   * and like it a microtask after the failure (after `onTimeout`). A throw rejects the caller's promise.
   */
  readonly rejected?: (arg: C, error: unknown) => unknown;
}

/**
 * An aggressive timeout of our own, cheaper than cockatiel's `TimeoutPolicy` (no `AbortController`,
 * listener or timer of its own per call):
 *
 * - the attempt's signal is a {@link LazyAbort}: made only when someone reads it;
 * - the deadlines of all pending attempts share one timer (a {@link DeadlineQueue}); an attempt that
 *   ends in time is unlinked in O(1), nothing is cleared;
 * - the caller's signal is only listened to when it can abort (not the pipeline's `neverAborted`).
 *
 * At the deadline the caller's promise rejects at once with a {@link TimeoutError}, the attempt's
 * signal aborts with that same error as its reason (unless `abortReason: 'abort'`), and the attempt's
 * late outcome is ignored. When the caller's signal aborts first, the promise rejects at once with the
 * caller's reason and the attempt's signal aborts with it. An attempt that returns in time keeps its
 * signal un-aborted (a returned value may still use it: a `fetch` response whose body is read later).
 * @internal
 */
export class Timeout {
  readonly ms: number;
  /** The deadlines of the attempts running now (read by each attempt, to leave it). @internal */
  readonly queue: DeadlineQueue<Deadline>;

  /**
   * @param after the time an attempt may take
   * @param option the option's name for error messages (`timeout.after`)
   * @throws TypeError / RangeError naming `option` when `after` is not a duration a timer can hold
   */
  constructor(after: Duration, option: string) {
    this.ms = toMs(after, option);
    if (this.ms === 0) throw new RangeError(`\`${option}\` must be greater than 0`);
    // Node fires a timer of more than 2^31 - 1 ms (Infinity included) after 1 ms instead.
    if (this.ms > 2 ** 31 - 1) throw new RangeError(`\`${option}\` must be at most 2147483647 ms (about 24.8 days), got ${this.ms}`);
    this.queue = new DeadlineQueue(this.ms);
  }

  /** The number of attempts running under this timeout now. */
  get pending(): number {
    return this.queue.size;
  }

  /**
   * Runs `run` with a deadline of `ms` from now.
   *
   * @param run the attempt; it gets the attempt's abort, whose `signal` is only made when read, and `arg`
   * @param arg handed to `run` and to the context's functions (no closure per attempt)
   * @param callerSignal the caller's signal (`neverAborted` when there is none: then it costs nothing)
   * @returns what `run` returns, if it settles first
   * @throws a {@link TimeoutError} at the deadline; `callerSignal`'s reason when it aborts first
   */
  execute<T, C>(run: (attempt: LazyAbort, arg: C) => PromiseLike<T> | T, arg: C, callerSignal: AbortSignal, context: TimeoutContext<C>): Promise<T> {
    let caller: AbortSignal | undefined;
    if (callerSignal !== neverAborted) {
      if (callerSignal.aborted) return Promise.reject(abortError(callerSignal));
      caller = callerSignal;
    }
    return new TimedAttempt<T, C>(this, caller, arg, context).start(run);
  }
}

/**
 * One attempt under a {@link Timeout}: its lazy abort, its place in the deadline queue, its listener on
 * the caller's signal (`handleEvent`: no closure) and the settling of the caller's promise, in one object.
 */
class TimedAttempt<T, C> extends LazyAbort implements Deadline {
  /**
   * The attempt constructed last in this process, held until the next one is, as `CallState.latest`
   * holds the last call: a full GC that finds no attempt alive throws away the code optimized for
   * attempts. Never more than one attempt in the whole process.
   */
  static latest: TimedAttempt<unknown, unknown> | undefined = undefined;
  deadline = 0;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  #done = false;
  #resolve: (value: T | PromiseLike<T>) => void = noop;
  #reject: (error: unknown) => void = noop;
  readonly #timeout: Timeout;
  readonly #caller: AbortSignal | undefined;
  readonly #arg: C;
  readonly #context: TimeoutContext<C>;

  constructor(timeout: Timeout, caller: AbortSignal | undefined, arg: C, context: TimeoutContext<C>) {
    super();
    this.#timeout = timeout;
    this.#caller = caller;
    this.#arg = arg;
    this.#context = context;
    TimedAttempt.latest = this as TimedAttempt<unknown, unknown>;
  }

  start(run: (attempt: LazyAbort, arg: C) => PromiseLike<T> | T): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timeout.queue.add(this);
    this.#caller?.addEventListener('abort', this);
    let result: PromiseLike<T> | T;
    try {
      result = run(this, this.#arg);
    } catch (error) {
      this.#settle(false, error);
      return promise;
    }
    // Also after the deadline: a late outcome is handled here, and ignored (no unhandled rejection).
    Promise.resolve(result).then(
      (value) => this.#settle(true, value),
      (error: unknown) => this.#settle(false, error),
    );
    return promise;
  }

  /** The caller's signal aborted (an `EventListener` object: no closure per attempt). */
  handleEvent(): void {
    if (this.#done) return;
    this.#end();
    this.#timeout.queue.remove(this);
    const reason = abortError(this.#caller as AbortSignal);
    this.abort(reason);
    this.#fail(reason);
  }

  /** The deadline passed (the queue has already taken this attempt out). */
  expire(): void {
    if (this.#done) return;
    this.#end();
    const context = this.#context;
    const { functionName, attempt } = context.describe(this.#arg);
    const error = new TimeoutError({ functionName, timeoutMs: this.#timeout.ms, attempt });
    this.abort(context.abortReason === 'abort' ? undefined : error);
    this.#fail(error);
    context.onTimeout(this.#arg);
  }

  #settle(ok: boolean, outcome: unknown): void {
    if (this.#done) return;
    this.#end();
    this.#timeout.queue.remove(this);
    if (!ok) return this.#fail(outcome);
    const fulfilled = this.#context.fulfilled;
    if (fulfilled === undefined) return this.#resolve(outcome as T);
    try {
      this.#resolve(fulfilled(this.#arg, outcome) as T);
    } catch (error) {
      this.#reject(error);
    }
  }

  /** The attempt failed with `error`: the caller's promise rejects, or takes what `rejected` makes of it. */
  #fail(error: unknown): void {
    const rejected = this.#context.rejected;
    if (rejected === undefined) return this.#reject(error);
    // A promise job, as a rejection handler's would be (fake timers fake queueMicrotask, not this).
    this.#resolve(Promise.reject(error).then(undefined, (failure: unknown) => rejected(this.#arg, failure)) as Promise<T>);
  }

  #end(): void {
    this.#done = true;
    this.#caller?.removeEventListener('abort', this);
  }
}

function noop(): void {}

