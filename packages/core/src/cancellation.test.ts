import { getEventListeners } from 'node:events';
import { attemptSignal, EventType, isTimeoutError } from './index';
import { track } from '../test/settled';
import { watchUnhandledRejections } from '../test/unhandledRejections';
import type { SettledOutcome } from '../test/settled';
import { recordedPipeline as setup } from '../test/recordedPipeline';


function errorOf(outcome: SettledOutcome<unknown>): unknown {
  if (!outcome.settled) throw new Error('expected a rejection, the call is still pending');
  if (outcome.ok) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error;
}

/** Runs the promise jobs already queued, without moving the (fake) clock. */
async function flushMicrotasks() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A promise that settles after `ms` (fake) milliseconds. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A function that never settles on its own (it ignores its signal); it records each attempt's signal. */
function hanging() {
  const signals: AbortSignal[] = [];
  const fn = jest.fn((..._args: unknown[]) => {
    signals.push(attemptSignal());
    return new Promise<never>(() => undefined);
  });
  return { fn, signals };
}

const { unhandled, drain, expectNoUnhandledRejection } = watchUnhandledRejections();

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the unhandled-rejection check itself', () => {
  it('sees a rejection that nobody handles', async () => {
    const reason = new Error('deliberately unhandled, then handled late');
    const rejected = Promise.reject(reason);
    await drain();
    expect(unhandled).toEqual([reason]);
    // Handle it now, so that Jest (which also tracks unhandled rejections) does not fail this test.
    rejected.catch(() => undefined);
    await drain();
  });
});

describe('withSignal(signal): aborting a call', () => {
  it("rejects at once with the signal's reason, an AbortError by default", async () => {
    const { policy } = setup({ retry: { maxAttempts: 3 }, timeout: '10s' });
    const { fn } = hanging();
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)(7));
    await jest.advanceTimersByTimeAsync(100);
    expect(fn).toHaveBeenCalledWith(7);
    expect(call.outcome.settled).toBe(false);

    controller.abort();
    await flushMicrotasks(); // no timer needs to fire
    const error = errorOf(call.outcome);
    expect(error).toBe(controller.signal.reason);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(isTimeoutError(error)).toBe(false);
    expect(fn).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it('rejects with a custom abort reason as it is', async () => {
    const { policy } = setup({ retry: { maxAttempts: 2 } });
    const { fn } = hanging();
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(0);
    const reason = new Error('user navigated away');
    controller.abort(reason);
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    await expectNoUnhandledRejection();
  });

  it('cuts a retry sleep short: the caller rejects without the delay elapsing, and fn is not called again', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 5, delay: 10_000, jitter: false } });
    const fn = jest.fn(async () => {
      throw new Error('fails');
    });
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(100); // attempt 1 failed; sleeping 10 s before attempt 2
    expect(fn).toHaveBeenCalledTimes(1);
    expect(of('RETRY')).toHaveLength(1);
    expect(call.outcome.settled).toBe(false);

    controller.abort();
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(controller.signal.reason);

    // However long we now wait, the retry loop does not call fn again.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(of('RETRY')).toHaveLength(1);
    expect(of('RETRY_EXHAUSTED')).toHaveLength(0);
    expect(of('SUCCESS')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });

  it('with an already-aborted signal, rejects without calling fn', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 3, delay: 10 }, timeout: '1s' });
    const fn = jest.fn(async () => 'never');
    const reason = new Error('already cancelled');
    const call = track(policy(fn).withSignal(AbortSignal.abort(reason))());
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    await jest.advanceTimersByTimeAsync(5000);
    expect(fn).not.toHaveBeenCalled();
    expect(of('RETRY')).toHaveLength(0);
    expect(of('SUCCESS')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });

  it('with an already-aborted signal and no policy at all, rejects without calling fn', async () => {
    const { policy } = setup({});
    const fn = jest.fn(async () => 'never');
    const call = track(policy(fn).withSignal(AbortSignal.abort())());
    await jest.advanceTimersByTimeAsync(0);
    expect((errorOf(call.outcome) as DOMException).name).toBe('AbortError');
    expect(fn).not.toHaveBeenCalled();
    await expectNoUnhandledRejection();
  });

  it("aborts the running attempt's attemptSignal(), with the caller's reason (no timeout layer)", async () => {
    const { policy } = setup({ retry: { maxAttempts: 2 } });
    const { fn, signals } = hanging();
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(0);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBe(reason);
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    await expectNoUnhandledRejection();
  });

  it("aborts the running attempt's attemptSignal() through a per-attempt timeout, and is not reported as a timeout", async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 3, delay: 10 }, timeout: { after: 5000 } });
    const { fn, signals } = hanging();
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(1000);
    expect(signals[0]?.aborted).toBe(false);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBe(reason);
    await flushMicrotasks();
    expect(errorOf(call.outcome)).toBe(reason);
    // Nothing later turns it into a timeout or a retry.
    await jest.advanceTimersByTimeAsync(20_000);
    expect(of('TIMEOUT')).toHaveLength(0);
    expect(of('RETRY')).toHaveLength(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it('an attempt that stops on abort is not retried, not sent to the fallback and not counted by the breaker', async () => {
    const handler = jest.fn(() => 'fallback');
    const { policy, of } = setup({
      retry: { maxAttempts: 3, delay: 10 },
      circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' },
      fallback: handler,
    });
    // A well-behaved function: it stops its work, rejecting with the reason, when its signal aborts.
    const fn = jest.fn(
      () =>
        new Promise<string>((_resolve, reject) => {
          const signal = attemptSignal();
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    );
    const wrapped = policy(fn);
    const controller = new AbortController();
    const call = track(wrapped.withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(50);
    controller.abort();
    await jest.advanceTimersByTimeAsync(1000);
    expect(errorOf(call.outcome)).toBe(controller.signal.reason);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(handler).not.toHaveBeenCalled();
    expect(of('FALLBACK_USED')).toHaveLength(0);
    expect(of('RETRY')).toHaveLength(0);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await expectNoUnhandledRejection();
  });

  it("one caller's abort does not disturb another call of the same function", async () => {
    const { policy } = setup({ retry: { maxAttempts: 2 }, timeout: '10s' });
    const signals: AbortSignal[] = [];
    const fn = jest.fn(async (n: number) => {
      signals.push(attemptSignal());
      await sleep(1000);
      return n;
    });
    const wrapped = policy(fn);
    const controller = new AbortController();
    const aborted = track(wrapped.withSignal(controller.signal)(1));
    const other = track(wrapped.withSignal(new AbortController().signal)(2));
    const plain = track(wrapped(3));
    await jest.advanceTimersByTimeAsync(100);
    controller.abort();
    await flushMicrotasks();
    expect(errorOf(aborted.outcome)).toBe(controller.signal.reason);
    expect(signals.map((s) => s.aborted)).toEqual([true, false, false]);
    await jest.advanceTimersByTimeAsync(900);
    expect(other.outcome).toEqual({ settled: true, ok: true, value: 2 });
    expect(plain.outcome).toEqual({ settled: true, ok: true, value: 3 });
    await expectNoUnhandledRejection();
  });

  it('without an abort, returns the value (keeping `this` and the arguments) and leaves no abort listener on the signal', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false }, timeout: '1s' });
    const target = {
      base: 100,
      async add(this: { base: number }, n: number) {
        await sleep(10);
        if (calls++ === 0) throw new Error('once');
        return this.base + n;
      },
    };
    let calls = 0;
    const wrapped = policy(target.add);
    const controller = new AbortController();
    const call = track(wrapped.withSignal(controller.signal).call(target, 5));
    await jest.advanceTimersByTimeAsync(100);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 105 });
    expect(calls).toBe(2);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // A later abort changes nothing.
    controller.abort();
    await flushMicrotasks();
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 105 });
    await expectNoUnhandledRejection();
  });

  it("without an abort, a failure reaches the caller as fn's own error and the listener is removed", async () => {
    const { policy } = setup({ retry: { maxAttempts: 2, delay: 10, jitter: false } });
    const errors: Error[] = [];
    const fn = jest.fn(async () => {
      const error = new Error(`failure ${errors.length + 1}`);
      errors.push(error);
      throw error;
    });
    const controller = new AbortController();
    const call = track(policy(fn).withSignal(controller.signal)());
    await jest.advanceTimersByTimeAsync(100);
    expect(errorOf(call.outcome)).toBe(errors[1]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expectNoUnhandledRejection();
  });
});

describe('withSignal(signal) with a cache', () => {
  it('an aborted caller stops waiting, but the shared load completes and fills the cache for others', async () => {
    const { policy, of } = setup({ cache: { ttl: '1m' }, retry: { maxAttempts: 2 }, timeout: '10s' });
    const signals: AbortSignal[] = [];
    const fn = jest.fn(async (id: number) => {
      signals.push(attemptSignal());
      await sleep(1000);
      return { id };
    });
    const wrapped = policy(fn);
    const controller = new AbortController();
    const first = track(wrapped.withSignal(controller.signal)(1));
    await jest.advanceTimersByTimeAsync(100);
    controller.abort();
    await flushMicrotasks();
    expect(errorOf(first.outcome)).toBe(controller.signal.reason);
    // The load others may share is not aborted.
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);

    const second = track(wrapped(1));
    await jest.advanceTimersByTimeAsync(900);
    expect(second.outcome).toEqual({ settled: true, ok: true, value: { id: 1 } });
    expect(fn).toHaveBeenCalledTimes(1);

    const third = track(wrapped(1));
    await flushMicrotasks();
    expect(third.outcome).toEqual({ settled: true, ok: true, value: { id: 1 } });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(of('CACHE_HIT')).toHaveLength(1);
    expect(wrapped.cache?.scope.stats().size).toBe(1);
    await expectNoUnhandledRejection();
  });

  it('a caller joining a running load can abort without affecting the leader', async () => {
    const { policy } = setup({ cache: { ttl: '1m' } });
    const fn = jest.fn(async (id: number) => {
      await sleep(1000);
      return id * 10;
    });
    const wrapped = policy(fn);
    const leader = track(wrapped(4));
    const controller = new AbortController();
    const joiner = track(wrapped.withSignal(controller.signal)(4));
    await jest.advanceTimersByTimeAsync(500);
    controller.abort();
    await flushMicrotasks();
    expect(errorOf(joiner.outcome)).toBe(controller.signal.reason);
    expect(leader.outcome.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(500);
    expect(leader.outcome).toEqual({ settled: true, ok: true, value: 40 });
    expect(fn).toHaveBeenCalledTimes(1);
    await expectNoUnhandledRejection();
  });

  it('a cache hit is returned to a caller whose signal is not aborted', async () => {
    const { policy, events } = setup({ cache: { ttl: '1m' } });
    const fn = jest.fn(async (id: number) => id + 1);
    const wrapped = policy(fn);
    await wrapped(1);
    const call = track(wrapped.withSignal(new AbortController().signal)(1));
    await flushMicrotasks();
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 2 });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.type)).toEqual([EventType.CACHE_MISS, EventType.SUCCESS, EventType.CACHE_HIT]);
    await expectNoUnhandledRejection();
  });

  it('with an already-aborted signal, rejects without starting a load', async () => {
    const { policy } = setup({ cache: { ttl: '1m' } });
    const fn = jest.fn(async (id: number) => id);
    const wrapped = policy(fn);
    const reason = new Error('already cancelled');
    const call = track(wrapped.withSignal(AbortSignal.abort(reason))(1));
    await jest.advanceTimersByTimeAsync(100);
    expect(errorOf(call.outcome)).toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(wrapped.cache?.scope.stats().size).toBe(0);
    await expectNoUnhandledRejection();
  });
});
