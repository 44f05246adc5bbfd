import type { AttemptContext } from './context';
import { attemptContext, neverAborted } from './context';
import type { ResilienceEvent } from './events/ResilienceEvents';
import { LazyAbort } from './policies/LazyAbort';

/** How a call reaches its wrapped function's event stream: made once per wrapped function. @internal */
export interface CallEvents {
  /** Whether anyone listens now (the pipeline's or the registry's listeners). */
  readonly active: boolean;
  /** Emits an event of this function; `build` runs only when someone listens. */
  emit(build: (functionName: string) => ResilienceEvent): void;
}

/** What every call of one wrapped function shares, made once per wrapped function. @internal */
export interface CallSite {
  readonly functionName: string;
  readonly events: CallEvents;
  /** The call's cache key from its arguments, computed only when an event needs it. */
  readonly keyOf: (args: unknown[]) => string | undefined;
  /** The wrapped function. */
  readonly fn: (...args: unknown[]) => unknown;
  /** Whether `fn` takes the attempt's context as its first argument (`withContext`). */
  readonly passContext: boolean;
  /** The pipeline's breaker → [attempt timeout] → fn part of one attempt of a call. */
  readonly attempt: (call: CallState) => Promise<unknown>;
}

/**
 * One call through a pipeline, as its layers see it: handed explicitly from layer to layer (no
 * AsyncLocalStorage), so that every policy event names its call (function, key, attempt).
 *
 * It is also the `signal` the pipeline gives cockatiel's retry and breaker. cockatiel only reads a
 * signal's `aborted` and hands the signal back in the contexts of its callbacks (the attempt function,
 * retry's backoff, the breaker's half-open backoff), which is how those callbacks, shared by every call,
 * find their call. `aborted` is the abort state of the signal the inner layers honour.
 * @internal
 */
export class CallState {
  /**
   * The call constructed last in this process, held until the next one is: so that a call (its hidden
   * class, and the classes of what it holds) is alive whenever a full garbage collection runs. V8 holds
   * those classes weakly; when a full GC finds no call alive (between bursts of calls, or in a benchmark
   * that collects garbage before each sample) it drops them and throws away all the code optimized for
   * calls ("weak objects" in `--trace-deopt`), and the calls after it run unoptimized until V8 optimizes
   * them again. It keeps one call's arguments alive a little longer: never more than one call in the
   * whole process.
   */
  static latest: CallState | undefined = undefined;
  /**
   * Whether anyone listened when the call started: only then does it report its outcome (SUCCESS,
   * FAILURE, RETRY_EXHAUSTED), which costs a promise or two per call. Events of a call's course
   * (RETRY, TIMEOUT, CIRCUIT_*, …) are emitted to whoever listens when they happen.
   */
  readonly observed: boolean;
  /** Attempts started so far. */
  attempts = 0;
  /** The wait before the next attempt, as computed by retry's backoff (for the RETRY event). */
  retryDelay = 0;
  /** That wait, started when the backoff was computed; the next attempt awaits it. Abortable. */
  retrySleep: Promise<void> | undefined = undefined;
  /**
   * The failure of the first attempt, which retry ran outside cockatiel, until cockatiel's retry takes it
   * as the outcome of its own first attempt (see `Retry.execute`).
   */
  firstFailure: { readonly error: unknown } | undefined = undefined;
  /**
   * The signal the layers inside the whole-call timeout honour (retry, breaker, attempts): the caller's
   * `signal`, or the whole-call timeout's once it runs.
   */
  inner: AbortSignal;
  /** The running attempt's signal, or the timeout's {@link LazyAbort} whose signal is made when read. */
  #from: AbortSignal | LazyAbort = neverAborted;
  #context: AttemptContext | undefined = undefined;

  /**
   * @param site what the calls of this wrapped function share
   * @param signal the caller's signal (`withSignal`), or a signal that never aborts
   */
  constructor(
    readonly site: CallSite,
    readonly signal: AbortSignal,
    readonly thisArg: unknown,
    readonly args: unknown[],
  ) {
    this.inner = signal;
    this.observed = site.events.active;
    CallState.latest = this;
  }

  get functionName(): string {
    return this.site.functionName;
  }

  get fn(): (...args: unknown[]) => unknown {
    return this.site.fn;
  }

  get passContext(): boolean {
    return this.site.passContext;
  }

  /** The pipeline's breaker → [attempt timeout] → fn part of one attempt of this call. */
  get attempt(): (call: CallState) => Promise<unknown> {
    return this.site.attempt;
  }

  /** Whether the signal of the inner layers has aborted (what cockatiel reads of its signal). */
  get aborted(): boolean {
    return this.inner.aborted;
  }

  /** The call's cache key, when the pipeline has a cache. */
  key(): string | undefined {
    return this.site.keyOf(this.args);
  }

  /** Emits an event of this call's function; `build` runs only when someone listens. */
  emit(build: (functionName: string) => ResilienceEvent): void {
    this.site.events.emit(build);
  }

  /** Starts attempt number `attempts + 1` under `from`; returns its number. */
  startAttempt(from: AbortSignal | LazyAbort): number {
    this.#from = from;
    this.#context = undefined;
    return ++this.attempts;
  }

  /** The running attempt's signal (made now under a timeout, if it was not yet). */
  attemptSignal(): AbortSignal {
    const from = this.#from;
    return from instanceof LazyAbort ? from.signal : from;
  }

  /** The running attempt's context, made on first use and the same object for the whole attempt. */
  attemptContext(): AttemptContext {
    return (this.#context ??= attemptContext(this.#from, this.attempts, this.site.functionName));
  }
}

/** Whether cockatiel handed back one of our calls as its signal. @internal */
export function isCallState(signal: unknown): signal is CallState {
  return signal instanceof CallState;
}
