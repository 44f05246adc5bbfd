import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  CountBreaker,
  IsolatedCircuitError,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { CircuitBreakerPolicy, IBreaker } from 'cockatiel';
import { describeValue as describe, toMs } from '@toolkit/cache';
import { callStorage } from '../context';
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
    this.#policy = circuitBreaker(handleWhen(counts).orWhenResult((r) => r instanceof SlowResult), {
      halfOpenAfter: this.#halfOpenAfter,
      breaker: this.#counter,
      halfOpenSampling: { calls: successThreshold, threshold: 0 },
      initialState: restoredIsolated ? { ...(initialState as object), ownState: { value: CircuitState.Closed } } : initialState,
    });
    if (restoredIsolated) this.#isolation = this.#policy.isolate(); // before the listeners: no new opening to report
    this.#policy.onBreak((reason) => {
      if (this.#resetting) return;
      const isolated = 'isolated' in reason;
      this.#emit((fn) =>
        resilienceEvent.CIRCUIT_OPEN(fn, { error: 'error' in reason ? reason.error : undefined }, { breaker: name, isolated }),
      );
    });
    this.#policy.onHalfOpen(() => this.#emit((fn) => resilienceEvent.CIRCUIT_HALF_OPEN(fn, {}, { breaker: name })));
    this.#policy.onReset(() => this.#emit((fn) => resilienceEvent.CIRCUIT_CLOSED(fn, {}, { breaker: name })));
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
    if (this.#isolation === undefined) this.#isolation = this.#policy.isolate();
  }

  /** Closes the circuit, whatever its state (ends an isolation). */
  reset(): void {
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
      const { ownState } = this.#policy.toJSON() as { ownState: { openedAt: number } };
      if (Date.now() - ownState.openedAt < this.#halfOpenAfter) throw new CircuitOpenError({ functionName });
    }
  }

  /**
   * Runs one attempt through the breaker, which records its outcome. A slow success is recorded as a
   * failure (and reported through `onSlow`) but still returned.
   * @internal
   */
  async execute<T>(attempt: () => Promise<T>, signal: AbortSignal, functionName: string, onSlow: (ms: number) => void): Promise<T> {
    const slowAfter = this.#slowCallThreshold;
    let result: T | SlowResult<T>;
    try {
      result = await this.#policy.execute(async () => {
        if (slowAfter === Number.POSITIVE_INFINITY) return attempt();
        const started = performance.now();
        const value = await attempt();
        const took = performance.now() - started;
        if (took <= slowAfter) return value;
        onSlow(took);
        return new SlowResult(value);
      }, signal);
    } catch (error) {
      if (error instanceof IsolatedCircuitError) throw new CircuitOpenError({ functionName, isolated: true, cause: error });
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError({ functionName, cause: error });
      throw error;
    }
    return result instanceof SlowResult ? (result.value as T) : result;
  }

  #emit(build: (functionName: string) => ResilienceEvent): void {
    const call = callStorage.getStore();
    if (call !== undefined) call.emit(build);
    else this.emitGlobal(build(this.name));
  }
}

function positiveInteger(value: unknown, option: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`\`${option}\` must be a positive integer, got ${describe(value)}`);
  }
}
