import { AsyncLocalStorage } from 'node:async_hooks';
import type { ResilienceEvent } from './events/ResilienceEvents';
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
 * The context of attempt number `attempt`, for `attemptStorage`. `from` is the signal the attempt runs
 * under, or a timeout's {@link LazyAbort}, whose signal is then only made if the attempt reads it.
 * @internal
 */
export function attemptContext(from: AbortSignal | LazyAbort, attempt: number, functionName: string): AttemptContext {
  return from instanceof LazyAbort ? new LazyAttemptContext(from, attempt, functionName) : { signal: from, attempt, functionName };
}

/** One call through a pipeline, as its layers and event listeners see it. @internal */
export interface CallState {
  readonly functionName: string;
  /** The call's cache key, computed only when an event needs it. */
  readonly key: () => string | undefined;
  /** The caller's signal (`withSignal`), or a signal that never aborts. */
  readonly signal: AbortSignal;
  /** Attempts started so far. */
  attempts: number;
  /** The wait before the next attempt, as computed by retry's backoff (for the RETRY event). */
  retryDelay: number;
  /** That wait, started when the backoff was computed; the next attempt awaits it. Abortable. */
  retrySleep: Promise<void> | undefined;
  /** Emits an event of this call's pipeline; `build` runs only when someone listens. */
  readonly emit: (build: (functionName: string) => ResilienceEvent) => void;
}

/** @internal the call running in this async context (for attributing policy events) */
export const callStorage = new AsyncLocalStorage<CallState>();
/** @internal the attempt running in this async context (for `attemptSignal()`) */
export const attemptStorage = new AsyncLocalStorage<AttemptContext>();

const neverAborted: AbortSignal = new AbortController().signal;

/**
 * The `AbortSignal` of the attempt running now, from inside a function wrapped by `resilient()`. It aborts
 * when the attempt times out or the caller aborts, so the function can stop its work without taking a
 * signal parameter. Outside a pipeline it is a signal that never aborts.
 *
 * @example
 * const getUser = resilient({ timeout: '2s' })(async (id: number) => {
 *   const res = await fetch(`https://api.example.com/users/${id}`, { signal: attemptSignal() });
 *   return res.json();
 * });
 */
export function attemptSignal(): AbortSignal {
  return attemptStorage.getStore()?.signal ?? neverAborted;
}

/** The running attempt (signal, attempt number, function name), or `undefined` outside a pipeline. */
export function currentAttempt(): AttemptContext | undefined {
  return attemptStorage.getStore();
}

/** @internal */
export { neverAborted };
