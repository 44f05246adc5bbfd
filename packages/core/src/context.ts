import { LazyAbort } from './policies/LazyAbort';
import { LazySignalContext } from './policies/LazySignalContext';

/** What the running attempt knows about itself. */
export interface AttemptContext {
  /** Aborted when the attempt times out or the caller aborts: pass it to `fetch`, database drivers... */
  readonly signal: AbortSignal;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** The wrapped function's name. */
  readonly functionName: string;
}

/** An attempt under a timeout: its `signal` is only made when read (an own getter, so spreading keeps it). */
class LazyAttemptContext extends LazySignalContext implements AttemptContext {
  readonly attempt: number;
  readonly functionName: string;

  constructor(abort: LazyAbort, attempt: number, functionName: string) {
    super(abort);
    this.attempt = attempt;
    this.functionName = functionName;
  }
}

/**
 * The context of attempt number `attempt`. `from` is the signal the attempt runs under, or a timeout's
 * {@link LazyAbort}, whose signal is then only made if the attempt reads it.
 * @internal
 */
export function attemptContext(from: AbortSignal | LazyAbort, attempt: number, functionName: string): AttemptContext {
  return from instanceof LazyAbort ? new LazyAttemptContext(from, attempt, functionName) : { signal: from, attempt, functionName };
}

const neverAborted: AbortSignal = new AbortController().signal;

/** What `attemptSignal()` and `currentAttempt()` read of the attempt starting now. @internal */
export interface StartingAttempt {
  attemptSignal(): AbortSignal;
  attemptContext(): AttemptContext;
}

/**
 * The only attempt of a call through a pipeline without policies (no retry, timeout, breaker, bulkhead,
 * rate limiter or fallback) that nobody listens to: all `attemptSignal()` and `currentAttempt()` need,
 * without a `CallState`. Attempt 1, under the caller's signal.
 * @internal
 */
export class SoleAttempt implements StartingAttempt {
  #context: AttemptContext | undefined = undefined;

  constructor(
    readonly signal: AbortSignal,
    readonly functionName: string,
  ) {}

  attemptSignal(): AbortSignal {
    return this.signal;
  }

  /** The same frozen object for every call of this attempt (one per wrapped function without a caller's signal). */
  attemptContext(): AttemptContext {
    return (this.#context ??= Object.freeze({ signal: this.signal, attempt: 1, functionName: this.functionName }));
  }
}

/**
 * The call whose wrapped function is starting now: set by the pipeline around the synchronous start of
 * each attempt (`fn(...args)` up to its first `await`), restored right after. A plain variable, not an
 * AsyncLocalStorage: Node's promise hooks stay off, so no `await` anywhere in the process pays for it.
 */
let starting: StartingAttempt | undefined;

/**
 * Marks `call` as the one whose attempt starts now; returns the one it replaces (a wrapped function may
 * call another synchronously), to give back to {@link leaveAttempt}.
 * @internal
 */
export function enterAttempt(call: StartingAttempt): StartingAttempt | undefined {
  const previous = starting;
  starting = call;
  return previous;
}

/** Ends the synchronous start of an attempt. @internal */
export function leaveAttempt(previous: StartingAttempt | undefined): void {
  starting = previous;
}

/**
 * The `AbortSignal` of the attempt starting now, read inside a function wrapped by `resilient()` before
 * its first `await`. It aborts when the attempt times out or the caller aborts, so the function can stop
 * its work without taking a signal parameter.
 *
 * Read it in the function's synchronous start, as in the example (the argument list of the first
 * awaited call is evaluated before that `await`). After the first `await` the pipeline no longer knows
 * which attempt is running, and it returns a signal that never aborts; so it does outside a pipeline.
 * To reach the signal anywhere in the function, keep it in a variable before the first `await`, or wrap
 * with `policy.withContext(fn)`: the function then receives the attempt's context as its first argument.
 * (No AsyncLocalStorage is involved: it would turn Node's promise hooks on for the whole process.)
 *
 * @example
 * const getUser = resilient({ timeout: '2s' })(async (id: number) => {
 *   const res = await fetch(`https://api.example.com/users/${id}`, { signal: attemptSignal() });
 *   return res.json();
 * });
 */
export function attemptSignal(): AbortSignal {
  return starting === undefined ? neverAborted : starting.attemptSignal();
}

/**
 * The attempt starting now (`{ signal, attempt, functionName }`), read inside a wrapped function before
 * its first `await`; `undefined` outside a pipeline and after that first `await` (see
 * {@link attemptSignal}). The object stays valid for the whole attempt: keep it to use its `signal`
 * later. `policy.withContext(fn)` passes the same object to the function as its first argument.
 * Through a pipeline without policies, every call without a caller's signal has the same attempt (1,
 * a signal that never aborts): it is then one frozen object, shared by those calls.
 *
 * @example
 * const load = resilient({ retry: { maxAttempts: 3 }, timeout: '1s' })(async (id: number) => {
 *   const attempt = currentAttempt(); // before any await
 *   const row = await db.find(id, { signal: attempt?.signal });
 *   log.debug(`attempt ${attempt?.attempt} of ${attempt?.functionName}`);
 *   return row;
 * });
 */
export function currentAttempt(): AttemptContext | undefined {
  return starting?.attemptContext();
}

/** @internal */
export { neverAborted };
