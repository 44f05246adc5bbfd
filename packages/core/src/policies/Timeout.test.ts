import { attemptSignal, currentAttempt, EventType, isResilienceError, isTimeoutError, ResilienceRegistry, TimeoutError } from '../index';
import type { ResilientOptions } from '../index';
import { track } from '../../test/settled';
import { watchUnhandledRejections } from '../../test/unhandledRejections';
import type { SettledOutcome } from '../../test/settled';
import { recordedPipeline as setup } from '../../test/recordedPipeline';
import { neverAborted } from '../context';
import { Timeout } from './Timeout';
import type { TimeoutContext } from './Timeout';


function errorOf(outcome: SettledOutcome<unknown>): unknown {
  if (!outcome.settled) throw new Error('expected a rejection, the call is still pending');
  if (outcome.ok) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error;
}

/** A promise that settles after `ms` (fake) milliseconds. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A function that never settles on its own; it records each attempt's signal and number. */
function hanging() {
  const signals: AbortSignal[] = [];
  const attempts: Array<number | undefined> = [];
  const fn = jest.fn(() => {
    signals.push(attemptSignal());
    attempts.push(currentAttempt()?.attempt);
    return new Promise<never>(() => undefined);
  });
  return { fn, signals, attempts };
}

const { expectNoUnhandledRejection } = watchUnhandledRejections();

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('timeout per attempt (the default)', () => {
  it('rejects an attempt longer than `after` with a TimeoutError, exactly at `after`', async () => {
    const { policy } = setup({ timeout: { after: 1000 } });
    const { fn } = hanging();
    const wrapped = policy(fn);
    const call = track(wrapped());
    await jest.advanceTimersByTimeAsync(999);
    expect(call.outcome.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = errorOf(call.outcome);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(error)).toBe(true);
    expect(isResilienceError(error)).toBe(true);
    const timeout = error as TimeoutError;
    expect(timeout.code).toBe('E_TIMEOUT');
    expect(timeout.attempt).toBe(1);
    expect(timeout.timeoutMs).toBe(1000);
    expect(timeout.functionName).toBe(wrapped.functionName);
    expect(timeout.message).toContain('1000 ms');
    expect(fn).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it("aborts the attempt's signal, read inside fn with attemptSignal(), at the timeout", async () => {
    const { policy } = setup({ timeout: { after: 500 } });
    const { fn, signals } = hanging();
    const onAbort = jest.fn();
    const call = track(
      policy(async () => {
        const promise = fn();
        signals[0]?.addEventListener('abort', onAbort);
        return promise;
      })(),
    );
    await jest.advanceTimersByTimeAsync(499);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    expect(onAbort).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    await expectNoUnhandledRejection();
  });

  it('emits TIMEOUT with the attempt and the timeout, then FAILURE', async () => {
    const { policy, events, of } = setup({ timeout: 300 });
    const { fn } = hanging();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(300);
    expect(events.map((e) => e.type)).toEqual([EventType.TIMEOUT, EventType.FAILURE]);
    const [timeout] = of('TIMEOUT');
    expect(timeout?.attempt).toBe(1);
    expect(timeout?.durationMs).toBe(300);
    expect(of('FAILURE')[0]?.error).toBe(errorOf(call.outcome));
  });

  it('leaves the signal of an attempt that returned in time un-aborted, so a returned body can still be read', async () => {
    const { policy } = setup({ timeout: { after: 1000 } });
    let kept: AbortSignal | undefined;
    const fn = async () => {
      kept = attemptSignal();
      return { body: 'streamed later' };
    };
    await expect(policy(fn)()).resolves.toEqual({ body: 'streamed later' });
    expect(kept?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(5_000); // past the timeout: its timer was cleared on return
    expect(kept?.aborted).toBe(false);
  });

  it('a function that finishes in time returns its value, and its signal is not aborted while it runs', async () => {
    const { policy, events } = setup({ timeout: { after: 1000 } });
    const seen: Array<{ aborted: boolean; attempt: number | undefined }> = [];
    const fn = jest.fn(async (n: number) => {
      const signal = attemptSignal(); // read before the first await
      const attempt = currentAttempt();
      seen.push({ aborted: signal.aborted, attempt: attempt?.attempt });
      await sleep(600);
      seen.push({ aborted: signal.aborted, attempt: attempt?.attempt });
      await sleep(399);
      seen.push({ aborted: signal.aborted, attempt: attempt?.attempt });
      return n * 2;
    });
    const call = track(policy(fn)(21));
    await jest.advanceTimersByTimeAsync(999);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 42 });
    expect(seen).toEqual([
      { aborted: false, attempt: 1 },
      { aborted: false, attempt: 1 },
      { aborted: false, attempt: 1 },
    ]);
    expect(events.map((e) => e.type)).toEqual([EventType.SUCCESS]);
    // The timeout's timer is gone: nothing fires later.
    await jest.advanceTimersByTimeAsync(5000);
    expect(events.map((e) => e.type)).toEqual([EventType.SUCCESS]);
    await expectNoUnhandledRejection();
  });

  it('a late settlement of a timed-out attempt is ignored and raises no unhandled rejection', async () => {
    const { policy } = setup({ timeout: 100 });
    const late = new Error('too late');
    const fn = jest.fn(async () => {
      await sleep(250);
      throw late;
    });
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    await jest.advanceTimersByTimeAsync(500);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    await expectNoUnhandledRejection();
  });

  it("with retry, each attempt has its own timeout and its own fresh signal, and a timeout is retried", async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 3, delay: 100, jitter: false, backoffFactor: 1 }, timeout: { after: 1000 } });
    const signals: AbortSignal[] = [];
    const attempts: Array<number | undefined> = [];
    const fn = jest.fn(async () => {
      signals.push(attemptSignal());
      attempts.push(currentAttempt()?.attempt);
      if (signals.length < 3) return new Promise<never>(() => undefined);
      await sleep(900);
      return 'third time lucky';
    });
    const call = track(policy(fn)());

    await jest.advanceTimersByTimeAsync(999);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1); // t = 1000: attempt 1 times out
    expect(signals[0]?.aborted).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(100); // t = 1100: attempt 2 starts, with a fresh, unaborted signal
    expect(signals).toHaveLength(2);
    expect(signals[1]).not.toBe(signals[0]);
    expect(signals[1]?.aborted).toBe(false);
    // Its timeout counts from its own start, not from the call's.
    await jest.advanceTimersByTimeAsync(999);
    expect(signals[1]?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1); // t = 2100: attempt 2 times out
    expect(signals[1]?.aborted).toBe(true);

    await jest.advanceTimersByTimeAsync(100); // t = 2200: attempt 3
    expect(signals).toHaveLength(3);
    expect(signals[2]?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(900);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 'third time lucky' });
    expect(new Set(signals).size).toBe(3);
    expect(attempts).toEqual([1, 2, 3]);

    expect(of('TIMEOUT').map((e) => e.attempt)).toEqual([1, 2]);
    const retries = of('RETRY');
    expect(retries.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retries.map((e) => isTimeoutError(e.error) && e.error.attempt)).toEqual([1, 2]);
    expect(of('SUCCESS')[0]?.attempt).toBe(3);
    await expectNoUnhandledRejection();
  });

  it('when every attempt times out the caller gets the last TimeoutError (its attempt number)', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false }, timeout: { after: 200 } });
    const { fn, signals } = hanging();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(10_000);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).attempt).toBe(3);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(of('RETRY_EXHAUSTED')[0]?.error).toBe(error);
    expect(of('TIMEOUT').map((e) => e.attempt)).toEqual([1, 2, 3]);
    await expectNoUnhandledRejection();
  });
});

describe("the attempt's signal is made only when read", () => {
  /** Counts the AbortControllers constructed while it is installed (they still work). */
  function countAbortControllers() {
    const Original = AbortController;
    return jest.spyOn(globalThis, 'AbortController').mockImplementation(() => new Original());
  }

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('constructs no AbortController and adds no listener for attempts that never read it, in time or timed out', async () => {
    const { policy } = setup({ timeout: 100 });
    const constructed = countAbortControllers();
    const addEventListener = jest.spyOn(EventTarget.prototype, 'addEventListener');
    const quick = policy(async (n: number) => n);
    const slow = policy(async () => {
      await sleep(10);
      return new Promise<never>(() => undefined);
    });
    await expect(Promise.all([quick(1), quick(2), quick(3)])).resolves.toEqual([1, 2, 3]);
    const call = track(slow());
    await jest.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    expect(constructed).not.toHaveBeenCalled();
    expect(addEventListener).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });

  it('constructs one when the function reads attemptSignal()', async () => {
    const { policy } = setup({ timeout: 100 });
    const constructed = countAbortControllers();
    const signals: Array<AbortSignal | undefined> = [];
    await policy(async () => {
      signals.push(attemptSignal(), currentAttempt()?.signal);
    })();
    expect(signals[1]).toBe(signals[0]);
    expect(constructed).toHaveBeenCalledTimes(1);
  });

  it('read only after the timeout (from a kept currentAttempt()): already aborted, with the TimeoutError as reason', async () => {
    const { policy } = setup({ timeout: 100 });
    const constructed = countAbortControllers();
    let kept: ReturnType<typeof currentAttempt>;
    const call = track(
      policy(async () => {
        kept = currentAttempt();
        return new Promise<never>(() => undefined);
      })(),
    );
    await jest.advanceTimersByTimeAsync(100);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect(constructed).not.toHaveBeenCalled();
    expect(kept?.attempt).toBe(1);
    expect(kept?.signal.aborted).toBe(true);
    expect(kept?.signal.reason).toBe(error);
    expect(constructed).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it('keeps the signal in a copy of currentAttempt() ({ ...spread })', async () => {
    const { policy } = setup({ timeout: 100 });
    let copy: { signal?: AbortSignal; attempt?: number; functionName?: string } = {};
    const call = track(
      policy(async function work() {
        copy = { ...currentAttempt() };
        return new Promise<never>(() => undefined);
      })(),
    );
    await jest.advanceTimersByTimeAsync(100);
    expect(copy.attempt).toBe(1);
    expect(copy.functionName).toBe('work');
    expect(copy.signal?.aborted).toBe(true);
    expect(copy.signal?.reason).toBe(errorOf(call.outcome));
    await expectNoUnhandledRejection();
  });
});

describe('timeout for the whole call (perAttempt: false)', () => {
  it('bounds all attempts and the retry sleeps between them', async () => {
    const { policy, of } = setup({
      retry: { maxAttempts: 10, delay: 400, backoffFactor: 1, jitter: false },
      timeout: { after: 1000, perAttempt: false },
    });
    const calledAt: number[] = [];
    const fn = jest.fn(async () => {
      calledAt.push(Date.now());
      throw new Error('fails fast');
    });
    const started = Date.now();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(999);
    // Attempts at 0, 400 and 800; the call is still sleeping before the 4th.
    expect(calledAt.map((t) => t - started)).toEqual([0, 400, 800]);
    expect(call.outcome.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(1000);
    expect((error as TimeoutError).attempt).toBeUndefined();
    expect(of('TIMEOUT')).toHaveLength(1);
    expect(of('TIMEOUT')[0]?.durationMs).toBe(1000);
    // The retry loop stops: the function is not called again once the call timed out.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(of('RETRY_EXHAUSTED')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });

  it('lets a slow attempt finish when it stays within the whole-call budget', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false }, timeout: { after: 1000, perAttempt: false } });
    const fn = jest.fn(async () => {
      await sleep(950);
      return 'slow but in time';
    });
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(950);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 'slow but in time' });
  });

  it("aborts the running attempt's signal when the call's time is up", async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: 100, jitter: false }, timeout: { after: 1000, perAttempt: false } });
    const signals: AbortSignal[] = [];
    const fn = jest.fn(async () => {
      signals.push(attemptSignal());
      if (signals.length === 1) throw new Error('first fails');
      return new Promise<never>(() => undefined);
    });
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(999);
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(signals[1]?.aborted).toBe(true);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    await expectNoUnhandledRejection();
  });

  it("aborts the running attempt's signal with an AbortError: inside, the call's deadline is a cancellation, not counted", async () => {
    const { policy, of } = setup({
      retry: { maxAttempts: 3, delay: 10, jitter: false },
      circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' },
      timeout: { after: 100, perAttempt: false },
    });
    // A well-behaved function: it rejects with its signal's reason when the signal aborts.
    const signals: AbortSignal[] = [];
    const fn = jest.fn(
      () =>
        new Promise<never>((_resolve, reject) => {
          const signal = attemptSignal();
          signals.push(signal);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    );
    const wrapped = policy(fn);
    const call = track(wrapped());
    await jest.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(errorOf(call.outcome))).toBe(true);
    expect((signals[0]?.reason as DOMException).name).toBe('AbortError');
    await jest.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(of('RETRY')).toHaveLength(0);
    expect(of('RETRY_EXHAUSTED')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });
});

describe('timeout options', () => {
  it("takes a duration string as a shorthand: timeout: '2s'", async () => {
    const { policy } = setup({ timeout: '2s' });
    const { fn } = hanging();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(1999);
    expect(call.outcome.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(2000);
    expect((error as TimeoutError).attempt).toBe(1);
  });

  it("takes a duration string in the object form: { after: '1.5s' }", async () => {
    const { policy } = setup({ timeout: { after: '1.5s' } });
    const { fn } = hanging();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(1499);
    expect(call.outcome.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect((errorOf(call.outcome) as TimeoutError).timeoutMs).toBe(1500);
  });

  it('rejects after: 0, also as a shorthand, naming `timeout.after`', () => {
    const make = (timeout: unknown) => () => new ResilienceRegistry().resilient({ timeout } as ResilientOptions);
    expect(make({ after: 0 })).toThrow(RangeError);
    expect(make({ after: 0 })).toThrow(/`timeout\.after`/);
    expect(make(0)).toThrow(/`timeout\.after`/);
    expect(make('0ms')).toThrow(/`timeout\.after`/);
  });

  it('rejects a missing, negative or unreadable `after`, naming it', () => {
    const make = (timeout: unknown) => () => new ResilienceRegistry().resilient({ timeout } as ResilientOptions);
    expect(make({})).toThrow(TypeError);
    expect(make({})).toThrow(/`timeout\.after`/);
    expect(make({ after: -1 })).toThrow(RangeError);
    expect(make({ after: -1 })).toThrow(/`timeout\.after`/);
    expect(make({ after: 'soon' })).toThrow(TypeError);
    expect(make({ after: 'soon' })).toThrow(/`timeout\.after`/);
    expect(make({ after: 1 })).not.toThrow();
  });

  it('rejects an `after` that a Node timer cannot hold (Infinity, or more than 2^31 − 1 ms), which would fire after 1 ms', () => {
    const make = (timeout: unknown) => () => new ResilienceRegistry().resilient({ timeout } as ResilientOptions);
    expect(make({ after: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(make({ after: Number.POSITIVE_INFINITY })).toThrow(/`timeout\.after`/);
    expect(make({ after: '30d', perAttempt: false })).toThrow(/`timeout\.after`/);
    expect(make(2 ** 31)).toThrow(/`timeout\.after`/);
    expect(make(2 ** 31 - 1)).not.toThrow();
    expect(make('24d')).not.toThrow();
  });
});

describe("Timeout's own settlement (fulfilled, rejected: what the fused pipeline path uses)", () => {
  interface Arg {
    readonly log: string[];
  }

  function context(overrides: Partial<TimeoutContext<Arg>>): TimeoutContext<Arg> {
    return { describe: () => ({ functionName: 'f', attempt: 1 }), onTimeout: (arg) => void arg.log.push('onTimeout'), ...overrides };
  }

  it('fulfilled maps the value before the caller gets it; a throw rejects the caller', async () => {
    const timeout = new Timeout(100, 'after');
    const arg: Arg = { log: [] };
    const mapped = track(timeout.execute(async () => 2, arg, neverAborted, context({ fulfilled: (_a, v) => (v as number) * 10 })));
    const boom = new Error('boom');
    const throwing = () => {
      throw boom;
    };
    const thrown = track(timeout.execute(async () => 2, arg, neverAborted, context({ fulfilled: throwing })));
    await jest.advanceTimersByTimeAsync(0);
    expect(mapped.outcome).toEqual({ settled: true, ok: true, value: 20 });
    expect(errorOf(thrown.outcome)).toBe(boom);
    expect(timeout.pending).toBe(0);
  });

  it("rejected takes the attempt's error, the TimeoutError (after onTimeout) and the caller's reason", async () => {
    const timeout = new Timeout(100, 'after');
    const arg: Arg = { log: [] };
    const rejected = (a: Arg, error: unknown) => {
      a.log.push(`rejected ${error instanceof Error ? error.name : String(error)}`);
      return `recovered from ${error instanceof Error ? error.message : String(error)}`;
    };
    const failed = track(timeout.execute(() => Promise.reject(new Error('attempt failed')), arg, neverAborted, context({ rejected })));
    await jest.advanceTimersByTimeAsync(0);
    expect(failed.outcome).toEqual({ settled: true, ok: true, value: 'recovered from attempt failed' });

    const late = track(timeout.execute(() => new Promise<never>(() => undefined), arg, neverAborted, context({ rejected })));
    await jest.advanceTimersByTimeAsync(100);
    expect(late.outcome).toEqual({ settled: true, ok: true, value: 'recovered from f took longer than 100 ms (attempt 1)' });

    const controller = new AbortController();
    const aborted = track(timeout.execute(() => new Promise<never>(() => undefined), arg, controller.signal, context({ rejected })));
    controller.abort(new Error('caller gave up'));
    await jest.advanceTimersByTimeAsync(0);
    expect(aborted.outcome).toEqual({ settled: true, ok: true, value: 'recovered from caller gave up' });
    expect(arg.log).toEqual(['rejected Error', 'onTimeout', 'rejected TimeoutError', 'rejected Error']);

    const rethrowing = (_a: Arg, error: unknown) => {
      throw error;
    };
    const rethrown = track(timeout.execute(() => Promise.reject(new Error('x')), arg, neverAborted, context({ rejected: rethrowing })));
    await jest.advanceTimersByTimeAsync(0);
    expect((errorOf(rethrown.outcome) as Error).message).toBe('x');
    expect(timeout.pending).toBe(0);
    await expectNoUnhandledRejection();
  });
});
