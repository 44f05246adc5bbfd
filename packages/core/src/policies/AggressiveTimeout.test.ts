import { getEventListeners } from 'node:events';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ConstantBackoff,
  circuitBreaker,
  handleAll,
  handleWhen,
  retry,
  wrap,
} from 'cockatiel';
import type { ICancellationContext } from 'cockatiel';
import { isTimeoutError, TimeoutError } from '../errors/TimeoutError';
import { AggressiveTimeout, timeoutPolicy } from './AggressiveTimeout';
import { track } from '../../test/settled';
import type { SettledOutcome } from '../../test/settled';
import { watchUnhandledRejections } from '../../test/unhandledRejections';

function errorOf(outcome: SettledOutcome<unknown>): unknown {
  if (!outcome.settled) throw new Error('expected a rejection, the call is still pending');
  if (outcome.ok) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error;
}

/** Never settles on its own. */
const hang = () => new Promise<never>(() => undefined);

/** A promise that settles after `ms` (fake) milliseconds. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the promise jobs already queued, without moving the (fake) clock. */
async function flushMicrotasks() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Counts the AbortControllers constructed while it is installed (they still work). */
function countAbortControllers() {
  const Original = AbortController;
  return jest.spyOn(globalThis, 'AbortController').mockImplementation(() => new Original());
}

const { expectNoUnhandledRejection } = watchUnhandledRejections();

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('timeoutPolicy(): deadlines', () => {
  it('rejects each of many interleaved calls with a TimeoutError exactly at its own deadline', async () => {
    const timeout = timeoutPolicy(100);
    const t0 = performance.now();
    const starts = [0, 0, 1, 3, 3, 3, 10, 37, 38, 99, 100, 101, 150, 151, 151, 199];
    const calls: Array<ReturnType<typeof track<unknown>>> = [];
    const rejectedAt: Array<number | undefined> = starts.map(() => undefined);
    for (let now = 0; now <= 320; now++) {
      for (const [i, start] of starts.entries()) if (start === now) calls[i] = track(timeout.execute(hang));
      await jest.advanceTimersByTimeAsync(1);
      for (const [i, call] of calls.entries()) {
        if (call?.outcome.settled && rejectedAt[i] === undefined) rejectedAt[i] = performance.now() - t0;
      }
    }
    expect(rejectedAt).toEqual(starts.map((start) => start + 100));
    for (const call of calls) {
      const error = errorOf(call.outcome);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).timeoutMs).toBe(100);
      expect((error as TimeoutError).code).toBe('E_TIMEOUT');
      expect((error as TimeoutError).attempt).toBeUndefined();
    }
    expect(timeout.pending).toBe(0);
    await expectNoUnhandledRejection();
  });

  it('never times out a call that settled in time (nor aborts its signal), while later ones still time out', async () => {
    const timeout = timeoutPolicy(100);
    const onTimeout = jest.fn();
    timeout.onTimeout(onTimeout);
    const signals: AbortSignal[] = [];
    const quick = (ms: number, value: string) =>
      timeout.execute(async ({ signal }) => {
        signals.push(signal);
        await sleep(ms);
        return value;
      });
    const a = track(quick(10, 'a'));
    const b = track(quick(99, 'b'));
    const failing = track(
      timeout.execute(async () => {
        await sleep(50);
        throw new Error('failed in time');
      }),
    );
    await jest.advanceTimersByTimeAsync(30);
    const slow = track(timeout.execute(hang)); // due at 130
    await jest.advanceTimersByTimeAsync(99); // t = 129
    expect(a.outcome).toEqual({ settled: true, ok: true, value: 'a' });
    expect(b.outcome).toEqual({ settled: true, ok: true, value: 'b' });
    expect((errorOf(failing.outcome) as Error).message).toBe('failed in time');
    expect(slow.outcome.settled).toBe(false);
    expect(onTimeout).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(isTimeoutError(errorOf(slow.outcome))).toBe(true);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]); // abortOnReturn: false
    await expectNoUnhandledRejection();
  });

  it("holds the process open (its timer is ref'd) exactly while a call is pending", async () => {
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    const timeout = timeoutPolicy('1s');
    let finish: (value: string) => void = () => undefined;
    const first = track(timeout.execute(() => new Promise<string>((resolve) => (finish = resolve))));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(true);
    finish('done');
    await flushMicrotasks();
    expect(first.outcome).toEqual({ settled: true, ok: true, value: 'done' });
    expect(timeout.pending).toBe(0);
    expect(timer.hasRef()).toBe(false); // idle: not cleared, unref'd

    const second = track(timeout.execute(hang));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1); // the same timer...
    expect(timer.hasRef()).toBe(true); // ...ref'd again
    await jest.advanceTimersByTimeAsync(1000);
    expect(isTimeoutError(errorOf(second.outcome))).toBe(true);
    await expectNoUnhandledRejection();
  });

  it('lets a synchronous function return a value or throw', async () => {
    const timeout = timeoutPolicy(100);
    await expect(timeout.execute(() => 42)).resolves.toBe(42);
    const error = new Error('sync');
    await expect(
      timeout.execute(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(timeout.pending).toBe(0);
  });

  it('ignores the late outcome of a timed-out call, a rejection included (no unhandled rejection)', async () => {
    const timeout = timeoutPolicy(100);
    const lateFailure = track(
      timeout.execute(async () => {
        await sleep(250);
        throw new Error('too late');
      }),
    );
    const lateSuccess = track(
      timeout.execute(async () => {
        await sleep(250);
        return 'too late';
      }),
    );
    await jest.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(errorOf(lateFailure.outcome))).toBe(true);
    expect(isTimeoutError(errorOf(lateSuccess.outcome))).toBe(true);
    await jest.advanceTimersByTimeAsync(500);
    expect(isTimeoutError(errorOf(lateFailure.outcome))).toBe(true);
    expect(isTimeoutError(errorOf(lateSuccess.outcome))).toBe(true);
    await expectNoUnhandledRejection();
  });
});

describe('timeoutPolicy(): the lazy signal', () => {
  it('constructs no AbortController for calls that never read their signal, timed out or not', async () => {
    const constructed = countAbortControllers();
    const timeout = timeoutPolicy(100);
    const calls = Array.from({ length: 50 }, (_, i) => track(timeout.execute(i % 2 === 0 ? () => sleep(10) : hang)));
    await jest.advanceTimersByTimeAsync(100);
    expect(calls.filter((c) => c.outcome.settled && !c.outcome.ok)).toHaveLength(25);
    expect(calls.filter((c) => c.outcome.settled && c.outcome.ok)).toHaveLength(25);
    expect(constructed).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });

  it('constructs one when the function reads it, and aborts it at the deadline with the TimeoutError as reason', async () => {
    const constructed = countAbortControllers();
    const timeout = timeoutPolicy(100);
    let signal: AbortSignal | undefined;
    const onAbort = jest.fn();
    const call = track(
      timeout.execute((context) => {
        signal = context.signal;
        expect(context.signal).toBe(signal); // one signal, however often it is read
        signal.addEventListener('abort', onAbort);
        return hang();
      }),
    );
    expect(constructed).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(signal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(signal?.aborted).toBe(true);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect(signal?.reason).toBe(error);
    expect(constructed).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it('read only after the deadline: an already-aborted signal whose reason is the TimeoutError', async () => {
    const constructed = countAbortControllers();
    const timeout = timeoutPolicy(100);
    let kept: ICancellationContext | undefined;
    const call = track(
      timeout.execute((context) => {
        kept = context;
        return hang();
      }),
    );
    await jest.advanceTimersByTimeAsync(100);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect(constructed).not.toHaveBeenCalled();
    const signal = kept?.signal;
    expect(constructed).toHaveBeenCalledTimes(1);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    await expectNoUnhandledRejection();
  });
});

describe("timeoutPolicy(): cockatiel's (context, signal) form", () => {
  it('hands a function that declares a second parameter the same signal as context.signal, aborted at the deadline', async () => {
    const timeout = timeoutPolicy(100);
    const seen: Array<{ context: AbortSignal; second: AbortSignal }> = [];
    const call = track(
      timeout.execute((context, signal) => {
        seen.push({ context: context.signal, second: signal });
        return hang();
      }),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]?.second).toBe(seen[0]?.context);
    await jest.advanceTimersByTimeAsync(99);
    expect(seen[0]?.second.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = errorOf(call.outcome);
    expect(isTimeoutError(error)).toBe(true);
    expect(seen[0]?.second.aborted).toBe(true);
    expect(seen[0]?.second.reason).toBe(error);
    await expectNoUnhandledRejection();
  });

  it("aborts the second-argument signal with the caller's reason when the caller aborts first", async () => {
    const timeout = timeoutPolicy(100);
    let second: AbortSignal | undefined;
    const controller = new AbortController();
    const call = track(
      timeout.execute((_context, signal) => {
        second = signal;
        return hang();
      }, controller.signal),
    );
    const reason = new Error('caller left');
    controller.abort(reason);
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    expect(second?.aborted).toBe(true);
    expect(second?.reason).toBe(reason);
    await expectNoUnhandledRejection();
  });

  it('makes no AbortController for a function of one parameter or none', async () => {
    const constructed = countAbortControllers();
    const timeout = timeoutPolicy(100);
    const one = track(timeout.execute((context) => (context === undefined ? 'none' : 'context')));
    const none = track(timeout.execute(() => 'plain'));
    await flushMicrotasks();
    expect(one.outcome).toEqual({ settled: true, ok: true, value: 'context' });
    expect(none.outcome).toEqual({ settled: true, ok: true, value: 'plain' });
    expect(constructed).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });
});

describe("timeoutPolicy(): the caller's signal", () => {
  it("rejects at once with the caller's reason, aborts the call's signal with it, and never reports a timeout", async () => {
    const timeout = timeoutPolicy(1000);
    const onTimeout = jest.fn();
    timeout.onTimeout(onTimeout);
    const controller = new AbortController();
    let read: AbortSignal | undefined;
    let unread: ICancellationContext | undefined;
    const first = track(
      timeout.execute((context) => {
        read = context.signal;
        return hang();
      }, controller.signal),
    );
    const second = track(
      timeout.execute((context) => {
        unread = context;
        return hang();
      }, controller.signal),
    );
    await jest.advanceTimersByTimeAsync(300);
    const reason = new Error('user navigated away');
    controller.abort(reason);
    await flushMicrotasks(); // no timer needs to fire
    expect(errorOf(first.outcome)).toBe(reason);
    expect(errorOf(second.outcome)).toBe(reason);
    expect(read?.aborted).toBe(true);
    expect(read?.reason).toBe(reason);
    expect(unread?.signal.aborted).toBe(true); // read after the abort
    expect(unread?.signal.reason).toBe(reason);
    expect(timeout.pending).toBe(0);
    await jest.advanceTimersByTimeAsync(5000);
    expect(onTimeout).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });

  it('rejects a bare abort() with the AbortError DOMException, and an already-aborted signal without calling fn', async () => {
    const timeout = timeoutPolicy(1000);
    const controller = new AbortController();
    const call = track(timeout.execute(hang, controller.signal));
    controller.abort();
    await flushMicrotasks();
    expect((errorOf(call.outcome) as DOMException).name).toBe('AbortError');

    const fn = jest.fn(async () => 'never');
    const reason = new Error('already cancelled');
    await expect(timeout.execute(fn, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(timeout.pending).toBe(0);
    await expectNoUnhandledRejection();
  });

  it("leaves no listener on the caller's signal however the call ends", async () => {
    const timeout = timeoutPolicy(100);
    const endings = {
      success: () => sleep(10),
      failure: async () => {
        await sleep(10);
        throw new Error('failed');
      },
      timeout: hang,
      syncThrow: () => {
        throw new Error('sync');
      },
    };
    const signals = Object.entries(endings).map(([name, fn]) => {
      const controller = new AbortController();
      const call = track(timeout.execute(fn, controller.signal));
      return { name, signal: controller.signal, call };
    });
    const aborted = new AbortController();
    const abortedCall = track(timeout.execute(hang, aborted.signal));
    aborted.abort();
    await jest.advanceTimersByTimeAsync(100);
    for (const { name, signal, call } of [...signals, { name: 'abort', signal: aborted.signal, call: abortedCall }]) {
      expect({ name, settled: call.outcome.settled, listeners: getEventListeners(signal, 'abort').length }).toEqual({
        name,
        settled: true,
        listeners: 0,
      });
    }
    await expectNoUnhandledRejection();
  });

  it('adds no listener anywhere when no signal is given', async () => {
    const addEventListener = jest.spyOn(EventTarget.prototype, 'addEventListener');
    const timeout = timeoutPolicy(100);
    const calls = [track(timeout.execute(() => sleep(10))), track(timeout.execute(hang))];
    await jest.advanceTimersByTimeAsync(100);
    expect(calls.map((c) => c.outcome.settled)).toEqual([true, true]);
    expect(addEventListener).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });
});

describe('timeoutPolicy(): cockatiel events', () => {
  it('reports onSuccess, onFailure (handled: false; the TimeoutError for a timeout) and onTimeout', async () => {
    const timeout = timeoutPolicy(100);
    const successes: number[] = [];
    const failures: Array<{ handled: boolean; error: unknown }> = [];
    const timeouts = jest.fn();
    timeout.onSuccess(({ duration }) => successes.push(duration));
    timeout.onFailure(({ handled, reason }) => failures.push({ handled, error: 'error' in reason ? reason.error : undefined }));
    timeout.onTimeout(timeouts);
    const ok = track(timeout.execute(() => sleep(40).then(() => 'ok')));
    const failed = new Error('failed');
    const bad = track(timeout.execute(() => sleep(20).then(() => Promise.reject(failed))));
    const slow = track(timeout.execute(hang));
    await jest.advanceTimersByTimeAsync(100);
    expect(ok.outcome).toEqual({ settled: true, ok: true, value: 'ok' });
    expect(successes).toEqual([40]);
    expect(failures).toEqual([
      { handled: false, error: failed },
      { handled: false, error: errorOf(slow.outcome) },
    ]);
    expect(errorOf(bad.outcome)).toBe(failed);
    expect(isTimeoutError(failures[1]?.error)).toBe(true);
    expect(timeouts).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });
});

describe("timeoutPolicy() inside cockatiel's wrap()", () => {
  it('is retried by an outer retry: each attempt gets its own deadline and its own signal, aborted at its deadline', async () => {
    const timeout = timeoutPolicy(100);
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
    const retried = retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(10) });
    const retryErrors: unknown[] = [];
    retried.onRetry((event) => retryErrors.push('error' in event ? event.error : undefined));
    const breakerFailures = jest.fn();
    breaker.onFailure(breakerFailures);
    const policy = wrap(retried, breaker, timeout);

    const seen: Array<{ signal: AbortSignal; attempt: number; startedAt: number }> = [];
    const t0 = performance.now();
    const call = track(
      policy.execute(async (context) => {
        seen.push({ signal: context.signal, attempt: context.attempt, startedAt: performance.now() - t0 });
        if (seen.length < 3) return hang();
        await sleep(60);
        return 'third time lucky';
      }),
    );
    await jest.advanceTimersByTimeAsync(99);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1); // t = 100: attempt 1 times out
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(isTimeoutError(seen[0]?.signal.reason)).toBe(true);
    await jest.advanceTimersByTimeAsync(10); // t = 110: attempt 2, its own deadline at 210
    expect(seen).toHaveLength(2);
    expect(seen[1]?.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(99);
    expect(seen[1]?.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(seen[1]?.signal.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(10 + 60);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 'third time lucky' });
    expect(seen.map((s) => [s.attempt, s.startedAt])).toEqual([
      [0, 0],
      [1, 110],
      [2, 220],
    ]);
    expect(seen[2]?.signal.aborted).toBe(false);
    expect(retryErrors).toHaveLength(2);
    expect(retryErrors.every(isTimeoutError)).toBe(true);
    expect(breakerFailures).toHaveBeenCalledTimes(2);
    await expectNoUnhandledRejection();
  });

  it('counts on an outer breaker: consecutive timeouts open it', async () => {
    const timeout = timeoutPolicy(100);
    const breaker = circuitBreaker(handleWhen(isTimeoutError), { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(2) });
    const policy = wrap(retry(handleWhen(isTimeoutError), { maxAttempts: 5, backoff: new ConstantBackoff(10) }), breaker, timeout);
    const fn = jest.fn(hang);
    const call = track(policy.execute(fn));
    await jest.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(errorOf(call.outcome)).toBeInstanceOf(BrokenCircuitError);
    await expectNoUnhandledRejection();
  });

  it("stops at once when the caller's signal aborts: rejects with its reason, and retry does not retry", async () => {
    const timeout = timeoutPolicy(100);
    const policy = wrap(retry(handleAll, { maxAttempts: 3, backoff: new ConstantBackoff(10) }), timeout);
    const signals: AbortSignal[] = [];
    const fn = jest.fn((context: ICancellationContext) => {
      signals.push(context.signal);
      return hang();
    });
    const controller = new AbortController();
    const call = track(policy.execute(fn, controller.signal));
    await jest.advanceTimersByTimeAsync(50);
    const reason = new Error('stop');
    controller.abort(reason);
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    expect(signals[0]?.reason).toBe(reason);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });
});

describe('timeoutPolicy(): options', () => {
  it('takes milliseconds or a duration string', () => {
    expect(timeoutPolicy(250).durationMs).toBe(250);
    expect(timeoutPolicy('2s').durationMs).toBe(2000);
    expect(timeoutPolicy('2s')).toBeInstanceOf(AggressiveTimeout);
    expect(timeoutPolicy(2 ** 31 - 1).durationMs).toBe(2 ** 31 - 1);
  });

  it.each<[string, unknown, ErrorConstructor]>([
    ['0', 0, RangeError],
    ["'0ms'", '0ms', RangeError],
    ['negative', -1, RangeError],
    ['Infinity', Number.POSITIVE_INFINITY, RangeError],
    ['2^31 ms, which a Node timer fires after 1 ms', 2 ** 31, RangeError],
    ["'30d'", '30d', RangeError],
    ['unreadable', 'soon', TypeError],
    ['not a duration', {}, TypeError],
  ])('rejects %s, naming `duration`', (_name, duration, type) => {
    const make = () => timeoutPolicy(duration as number);
    expect(make).toThrow(type);
    expect(make).toThrow(/`duration`/);
  });
});
