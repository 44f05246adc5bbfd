import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  CountBreaker,
  IsolatedCircuitError,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { CircuitBreakerPolicy, IBackoff, IBreaker, IHalfOpenAfterBackoffContext } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { isCallState } from '../CallState';
import type { CallState } from '../CallState';
import { CircuitOpenError } from '../errors/CircuitOpenError';
import { resilienceEvent } from '../events/ResilienceEvents';
import type { ResilienceEvent } from '../events/ResilienceEvents';
import { checkMatchers, isRejection, matchesAny } from '../matchers';
import type { CircuitBreakerOptions } from '../options/ResilientOptions';
import { isAbort, Passthrough } from './Passthrough';

/** The state of a circuit, as a readable string. */
export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated';

const stateNames: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** A successful result that took longer than `slowCallThreshold`: the breaker records it as a failure. */
class SlowResult<T> {
  constructor(readonly value: T) {}
}

/**
 * A circuit breaker (cockatiel's `CircuitBreakerPolicy` underneath), shared by every pipeline that uses
 * it. Read `state`, hold it open with `isolate()`, close it with `reset()`, and save it with `toJSON()`
 * (pass the saved value back as `initialState` to restore it, e.g. across serverless invocations).
 */
export class CircuitBreaker {
  /** The breaker's name (its pipeline's, or `circuitBreaker.name` when shared). */
  readonly name: string;
  readonly #policy: CircuitBreakerPolicy;
  readonly #halfOpenAfter: number;
  readonly #slowCallThreshold: number;
  /** The failure counter, and its state before any call: `reset()` puts it back. */
  readonly #counter: IBreaker;
  readonly #freshCounts: unknown;
  #isolation: { dispose(): void } | undefined;
  /** True while `reset()` closes an open circuit through a brief isolation, which is no opening to report. */
  #resetting = false;
  /** True during `reset()` and `isolate()`: their transitions belong to no call. */
  #manual = false;
  /** The call whose attempt cockatiel is starting now (a half-open transition happens then). */
  #starting: CallState | undefined = undefined;
  /** The signal of the attempt that is opening the circuit now: cockatiel hands it to the backoff, then reports. */
  #opening: unknown = undefined;
  /** The half-open trial that settled last: the one whose outcome closes the circuit. */
  #lastTrial: CallState | undefined = undefined;

  /**
   * @param emitGlobal receives the breaker's events that no call caused (`isolate()`, `reset()`)
   * @internal use `resilient({ circuitBreaker })`
   */
  constructor(
    name: string,
    options: CircuitBreakerOptions,
    private readonly emitGlobal: (event: ResilienceEvent) => void,
  ) {
    const {
      failureThreshold = 5,
      failureRateThreshold,
      windowSize = 20,
      minimumCalls,
      halfOpenAfter = '10s',
      successThreshold = 1,
      slowCallThreshold,
      initialState,
    } = options;
    const errorTypes = checkMatchers(options.errorTypes, 'circuitBreaker.errorTypes');
    const ignoreOn = checkMatchers(options.ignoreOn, 'circuitBreaker.ignoreOn');
    positiveInteger(failureThreshold, 'circuitBreaker.failureThreshold');
    positiveInteger(successThreshold, 'circuitBreaker.successThreshold');
    positiveInteger(windowSize, 'circuitBreaker.windowSize');
    if (minimumCalls !== undefined) positiveInteger(minimumCalls, 'circuitBreaker.minimumCalls');
    if (minimumCalls !== undefined && minimumCalls > windowSize) {
      throw new RangeError(
        `\`circuitBreaker.minimumCalls\` (${minimumCalls}) must not exceed \`circuitBreaker.windowSize\` (${windowSize}): the window never holds more calls`,
      );
    }
    if (failureRateThreshold !== undefined && !(failureRateThreshold > 0 && failureRateThreshold <= 1)) {
      throw new RangeError(
        `\`circuitBreaker.failureRateThreshold\` must be a fraction in (0, 1], got ${describe(failureRateThreshold)}`,
      );
    }
    this.name = name;
    this.#halfOpenAfter = toMs(halfOpenAfter, 'circuitBreaker.halfOpenAfter');
    this.#slowCallThreshold =
      slowCallThreshold === undefined ? Number.POSITIVE_INFINITY : toMs(slowCallThreshold, 'circuitBreaker.slowCallThreshold');

    const counts = (error: unknown) =>
      !(error instanceof Passthrough) &&
      !isRejection(error) &&
      !isAbort(error) &&
      (errorTypes === undefined || matchesAny(errorTypes, error)) &&
      !matchesAny(ignoreOn, error);
    this.#counter =
      failureRateThreshold === undefined
        ? new ConsecutiveBreaker(failureThreshold)
        : new CountBreaker({
            // cockatiel opens when failures are *more than* threshold × calls (and refuses 1); we open
            // at *at least* failureRateThreshold: a hair below it turns `>` into `>=`, and lets 1 through.
            threshold: failureRateThreshold * (1 - 1e-9),
            size: windowSize,
            minimumNumberOfCalls: minimumCalls ?? windowSize,
          });
    this.#freshCounts = this.#counter.state; // read before cockatiel applies an initialState to it
    // cockatiel would restore an isolation that no handle can end, so reset() could never close it:
    // restore it closed (with its counts) and isolate it again, through a handle of ours.
    const restoredIsolated =
      (initialState as { ownState?: { value?: unknown } } | undefined)?.ownState?.value === CircuitState.Isolated;
    // cockatiel passes the failing attempt's signal (our CallState) to the half-open backoff just before
    // it reports the opening: that is how CIRCUIT_OPEN finds its call.
    const halfOpenAfterBackoff: IBackoff<IHalfOpenAfterBackoffContext> = {
      duration: this.#halfOpenAfter,
      next: (context) => {
        this.#opening = context.signal;
        return halfOpenAfterBackoff;
      },
    };
    this.#policy = circuitBreaker(handleWhen(counts).orWhenResult((r) => r instanceof SlowResult), {
      halfOpenAfter: halfOpenAfterBackoff,
      breaker: this.#counter,
      halfOpenSampling: { calls: successThreshold, threshold: 0 },
      initialState: restoredIsolated ? { ...(initialState as object), ownState: { value: CircuitState.Closed } } : initialState,
    });
    if (restoredIsolated) this.#isolation = this.#policy.isolate(); // before the listeners: no new opening to report
    this.#opening = undefined; // restoring an open state runs the backoff without a call
    this.#policy.onBreak((reason) => {
      const opening = this.#opening;
      this.#opening = undefined;
      if (this.#resetting) return;
      const isolated = 'isolated' in reason;
      this.#emit(isolated || !isCallState(opening) ? undefined : opening, (fn) =>
        resilienceEvent.CIRCUIT_OPEN(fn, { error: 'error' in reason ? reason.error : undefined }, { breaker: name, isolated }),
      );
    });
    this.#policy.onHalfOpen(() => this.#emit(this.#starting, (fn) => resilienceEvent.CIRCUIT_HALF_OPEN(fn, {}, { breaker: name })));
    this.#policy.onReset(() => {
      const trial = this.#lastTrial;
      this.#lastTrial = undefined;
      this.#emit(this.#manual ? undefined : trial, (fn) => resilienceEvent.CIRCUIT_CLOSED(fn, {}, { breaker: name }));
    });
  }

  /** `'closed'`, `'open'`, `'half-open'` or `'isolated'`. */
  get state(): CircuitStateName {
    return stateNames[this.#policy.state];
  }

  /** The last failure the breaker recorded: `{ error }`, or `{ value }` for a slow call. */
  get lastFailure(): { error: unknown } | { value: unknown } | undefined {
    const failure = this.#policy.lastFailure;
    if (failure === undefined) return undefined;
    return 'value' in failure && failure.value instanceof SlowResult ? { value: failure.value.value } : failure;
  }

  /** Holds the circuit open: every call is rejected with `CircuitOpenError` (`isolated: true`) until `reset()`. */
  isolate(): void {
    if (this.#isolation !== undefined) return;
    this.#manual = true;
    try {
      this.#isolation = this.#policy.isolate();
    } finally {
      this.#manual = false;
    }
  }

  /** Closes the circuit, whatever its state (ends an isolation). */
  reset(): void {
    this.#manual = true;
    try {
      this.#reset();
    } finally {
      this.#manual = false;
    }
  }

  #reset(): void {
    // The failures counted so far go too: after a reset, one failure must not reopen the circuit.
    this.#counter.state = this.#freshCounts;
    if (this.#isolation !== undefined) {
      const isolation = this.#isolation;
      this.#isolation = undefined;
      isolation.dispose();
      return;
    }
    if (this.#policy.state !== CircuitState.Closed) {
      this.#resetting = true;
      try {
        this.#policy.isolate().dispose();
      } finally {
        this.#resetting = false;
      }
    }
  }

  /** The breaker's state as plain JSON, to restore later with `circuitBreaker: { initialState }`. */
  toJSON(): unknown {
    return this.#policy.toJSON();
  }

  /**
   * Rejects at once while the circuit is open (and its half-open delay has not passed) or isolated, so
   * an open circuit costs no rate-limit token and no bulkhead slot.
   * @internal
   */
  admit(functionName: string): void {
    const state = this.#policy.state;
    if (state === CircuitState.Isolated) throw new CircuitOpenError({ functionName, isolated: true });
    if (state === CircuitState.Open) {
      const retryAfterMs = this.#untilHalfOpen();
      if (retryAfterMs !== undefined && retryAfterMs > 0) throw new CircuitOpenError({ functionName, retryAfterMs });
    }
  }

  /** Milliseconds until an open circuit half-opens (`0` when due), from cockatiel's own `openedAt`. */
  #untilHalfOpen(): number | undefined {
    const { ownState } = this.#policy.toJSON() as { ownState?: { openedAt?: unknown } };
    const openedAt = ownState?.openedAt;
    if (typeof openedAt !== 'number') return undefined;
    return Math.max(0, openedAt + this.#halfOpenAfter - Date.now());
  }

  /**
   * Runs one attempt of `call` (`call.attempt`) through the breaker, which records its outcome. A slow success is
   * recorded as a failure (and reported as `SLOW_CALL`) but still returned. `call` is cockatiel's
   * signal (see {@link CallState}).
   * @internal
   */
  execute<T>(call: CallState): Promise<T> {
    // Closed, no slow-call check: the attempt runs here, outside cockatiel's two async functions (four
    // promises), its outcome recorded by recordSuccess / recordFailure.
    if (this.recordsOutside) {
      let outcome: Promise<unknown>;
      try {
        outcome = call.attempt(call);
      } catch (error) {
        outcome = Promise.reject(error);
      }
      return outcome.then(this.recordSuccess, (error: unknown) => this.recordFailure(call, error)) as Promise<T>;
    }
    const previous = this.#starting;
    this.#starting = call; // cockatiel half-opens the circuit synchronously, in this call
    let run: Promise<unknown>;
    try {
      run = this.#policy.execute(this.#runChecked, call as unknown as AbortSignal);
    } finally {
      this.#starting = previous;
    }
    return run.then(
      (result) => (result instanceof SlowResult ? (result.value as T) : (result as T)),
      (error: unknown) => {
        if (error instanceof IsolatedCircuitError) throw new CircuitOpenError({ functionName: call.functionName, isolated: true, cause: error });
        if (error instanceof BrokenCircuitError) {
          throw new CircuitOpenError({ functionName: call.functionName, retryAfterMs: this.#untilHalfOpen(), cause: error });
        }
        throw error;
      },
    );
  }

  /**
   * Whether an attempt starting now may run outside cockatiel, its outcome then recorded by
   * {@link recordSuccess} or {@link recordFailure}: the circuit is closed and there is no slow-call check.
   * @internal
   */
  get recordsOutside(): boolean {
    return this.#policy.state === CircuitState.Closed && this.#slowCallThreshold === Number.POSITIVE_INFINITY;
  }

  /**
   * Records the success of an attempt that started while {@link recordsOutside}, as cockatiel records it
   * (`success(Closed)` on the counter); returns the value. Bound: usable as a `then` callback.
   * @internal
   */
  readonly recordSuccess = <R>(value: R): R => {
    this.#counter.success(CircuitState.Closed);
    return value;
  };

  /**
   * Records the failure of an attempt of `call` that started while {@link recordsOutside}: handed to
   * cockatiel as the outcome of an attempt, so it filters, counts and opens the circuit itself, naming
   * this call. If the circuit left the closed state while the attempt ran, other calls' outcomes decided
   * it: the failure goes to the caller without being counted. Rejects with `error` either way.
   * @internal
   */
  recordFailure(call: CallState, error: unknown): Promise<never> {
    return this.#policy.state === CircuitState.Closed
      ? (this.#policy.execute(() => Promise.reject(error), call as unknown as AbortSignal) as Promise<never>)
      : Promise.reject(error);
  }

  /** cockatiel's attempt function away from the fast path: slow-call check, half-open trials. */
  readonly #runChecked = (context: { signal: AbortSignal }): Promise<unknown> => {
    const call = context.signal as unknown as CallState;
    const slowAfter = this.#slowCallThreshold;
    const outcome = slowAfter === Number.POSITIVE_INFINITY ? call.attempt(call) : timed(call, slowAfter);
    return this.#policy.state === CircuitState.HalfOpen ? this.#trial(call, outcome) : outcome;
  };

  /**
   * A half-open trial: remembers the trial that settles last, whose outcome is the one that closes the
   * circuit (cockatiel records each trial the same number of ticks after it settles, in order).
   */
  #trial<R>(call: CallState, outcome: Promise<R>): Promise<R> {
    return outcome.then(
      (value) => {
        this.#lastTrial = call;
        return value;
      },
      (error: unknown) => {
        this.#lastTrial = call;
        throw error;
      },
    );
  }

  #emit(call: CallState | undefined, build: (functionName: string) => ResilienceEvent): void {
    if (call !== undefined) call.emit(build);
    else this.emitGlobal(build(this.name));
  }
}

/** The attempt's outcome, as a {@link SlowResult} when it succeeded after more than `slowAfter` ms. */
async function timed(call: CallState, slowAfter: number): Promise<unknown> {
  const started = performance.now();
  const value = await call.attempt(call);
  const took = performance.now() - started;
  if (took <= slowAfter) return value;
  call.emit((n) => resilienceEvent.SLOW_CALL(n, { key: call.key(), attempt: call.attempts, durationMs: took }));
  return new SlowResult(value);
}

function positiveInteger(value: unknown, option: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`\`${option}\` must be a positive integer, got ${describe(value)}`);
  }
}
