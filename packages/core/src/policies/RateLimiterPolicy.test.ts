import { getEventListeners } from 'node:events';
import { ConstantBackoff, TaskCancelledError, handleWhen, isTaskCancelledError, retry, wrap } from 'cockatiel';
import { isRateLimitedError, RateLimitedError } from '../errors/RateLimitedError';
import { RateLimiterPolicy, type RateLimiterPolicyOptions } from './RateLimiterPolicy';
import { outcome, track, rejection } from '../../test/outcome';


/** A call that records, in `log`, its name and the (fake) time at which it started. */
function recorder() {
  const log: Array<[name: string, at: number]> = [];
  const call = (name: string) => () => {
    log.push([name, performance.now()]);
    return name;
  };
  return { log, call };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('RateLimiterPolicy: burst and refill', () => {
  it('lets a burst of maxCalls calls through at once', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 10, periodMs: 1000, maxWaitMs: 0 });
    const fn = jest.fn((n: number) => n * 2);
    const calls = Array.from({ length: 10 }, (_, i) => limiter.execute(() => fn(i)));
    expect(fn).toHaveBeenCalledTimes(10); // started synchronously, no timer needed
    await expect(Promise.all(calls)).resolves.toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(limiter.availableTokens).toBe(0);
    expect(limiter.queueLength).toBe(0);
  });

  it('rejects the next call with a RateLimitedError saying when to retry, when maxWaitMs is 0', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 10, periodMs: 1000, maxWaitMs: 0, functionName: 'getUser' });
    for (let i = 0; i < 10; i++) await limiter.execute(() => i);
    const fn = jest.fn(() => 'late');

    const error = await rejection(limiter.execute(fn));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    if (!isRateLimitedError(error)) return;
    expect(error.code).toBe('E_RATE_LIMITED');
    expect(error.functionName).toBe('getUser');
    expect(error.retryAfterMs).toBeCloseTo(100, 6); // one token every 1000 / 10 ms
    expect(error.message).toContain('getUser');
    expect(fn).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(40);
    const later = await rejection(limiter.execute(fn));
    expect(isRateLimitedError(later) && later.retryAfterMs).toBeCloseTo(60, 6);
    expect(fn).not.toHaveBeenCalled();
  });

  it('refills one token every periodMs / maxCalls ms (10 per 1000 ms: one every 100 ms)', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 10, periodMs: 1000, maxWaitMs: 0 });
    for (let i = 0; i < 10; i++) await limiter.execute(() => i);

    await jest.advanceTimersByTimeAsync(99);
    expect(limiter.availableTokens).toBeCloseTo(0.99, 6);
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'too early')))).toBe(true);

    await jest.advanceTimersByTimeAsync(1);
    await expect(limiter.execute(() => 'on time')).resolves.toBe('on time');
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'again too early')))).toBe(true);

    await jest.advanceTimersByTimeAsync(250);
    expect(limiter.availableTokens).toBeCloseTo(2.5, 6);
    await expect(limiter.execute(() => 'a')).resolves.toBe('a');
    await expect(limiter.execute(() => 'b')).resolves.toBe('b');
    const third = await rejection(limiter.execute(() => 'c'));
    expect(isRateLimitedError(third) && third.retryAfterMs).toBeCloseTo(50, 6);
  });

  it('never holds more than maxCalls tokens, however long it stays idle', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 3, periodMs: 300, maxWaitMs: 0 });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(limiter.availableTokens).toBe(3);
    for (let i = 0; i < 3; i++) await limiter.execute(() => i);
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'fourth')))).toBe(true);
  });

  it("hands the caller's signal to fn", async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 0 });
    const controller = new AbortController();
    const seen = await limiter.execute(({ signal }) => signal, controller.signal);
    expect(seen).toBe(controller.signal);
  });
});

describe('RateLimiterPolicy: waiting for a token', () => {
  it('queues callers and starts them in arrival order, at the refill rate', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 1000 });
    const { log, call } = recorder();
    const results = ['a', 'b', 'c', 'd'].map((name) => limiter.execute(call(name)));
    expect(log).toEqual([['a', 0]]);
    expect(limiter.queueLength).toBe(3);

    await jest.advanceTimersByTimeAsync(99);
    expect(log).toEqual([['a', 0]]);
    await jest.advanceTimersByTimeAsync(1);
    expect(log).toEqual([
      ['a', 0],
      ['b', 100],
    ]);
    await jest.advanceTimersByTimeAsync(200);
    expect(log).toEqual([
      ['a', 0],
      ['b', 100],
      ['c', 200],
      ['d', 300],
    ]);
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect(limiter.queueLength).toBe(0);
    expect(jest.getTimerCount()).toBe(0); // no timer left behind once the queue is empty
  });

  it('rejects at once a caller whose wait would exceed maxWaitMs, counting the callers ahead of it', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 250 });
    const { log, call } = recorder();
    const a = limiter.execute(call('a'));
    const b = limiter.execute(call('b')); // waits 100 ms
    const c = limiter.execute(call('c')); // waits 200 ms
    const d = track(limiter.execute(call('d'))); // would wait 300 ms

    await Promise.resolve(); // no timer needed for the rejection
    const result = await d.outcome;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(isRateLimitedError(result.error)).toBe(true);
    expect(isRateLimitedError(result.error) && result.error.retryAfterMs).toBeCloseTo(300, 6);
    expect(performance.now()).toBe(0);
    expect(limiter.queueLength).toBe(2);

    await jest.advanceTimersByTimeAsync(200);
    await expect(Promise.all([a, b, c])).resolves.toEqual(['a', 'b', 'c']);
    expect(log.map(([name]) => name)).toEqual(['a', 'b', 'c']);
  });

  it('waits for exactly maxWaitMs, but no longer', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 10, periodMs: 1000, maxWaitMs: 100 });
    for (let i = 0; i < 10; i++) await limiter.execute(() => i);
    const waiting = track(limiter.execute(() => 'waited'));
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'would wait 200 ms')))).toBe(true);
    await jest.advanceTimersByTimeAsync(100);
    expect(waiting.settled).toBe(true);
    await expect(waiting.outcome).resolves.toEqual({ ok: true, value: 'waited' });
  });

  it('does not let a newer caller overtake a waiting one when a token appears before the timer fires', async () => {
    let clock = 0;
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 100, now: () => clock });
    const order: string[] = [];
    const run = (name: string) => () => {
      order.push(name);
      return name;
    };
    await limiter.execute(run('a'));
    const b = limiter.execute(run('b'));
    expect(limiter.queueLength).toBe(1);

    clock = 100; // the token is due, but no timer has fired yet
    const c = limiter.execute(run('c'));
    expect(order).toEqual(['a', 'b']); // the token went to b, who was waiting
    expect(limiter.queueLength).toBe(1); // c waits for the next one
    await expect(b).resolves.toBe('b');

    clock = 200;
    await jest.advanceTimersByTimeAsync(200);
    await expect(c).resolves.toBe('c');
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('waits as long as it takes when maxWaitMs is Infinity', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 60_000, maxWaitMs: Infinity });
    await limiter.execute(() => 'first');
    const calls = [track(limiter.execute(() => 'second')), track(limiter.execute(() => 'third'))];
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls.map((c) => c.settled)).toEqual([true, false]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls.map((c) => c.settled)).toEqual([true, true]);
  });
});

describe('RateLimiterPolicy: cancellation', () => {
  it('rejects at once with TaskCancelledError when the signal is already aborted, taking no token', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 2, periodMs: 100, maxWaitMs: 0 });
    const controller = new AbortController();
    controller.abort();
    const fn = jest.fn(() => 'never');
    const error = await rejection(limiter.execute(fn, controller.signal));
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect(fn).not.toHaveBeenCalled();
    expect(limiter.availableTokens).toBe(2);
  });

  it('removes a caller aborted while waiting, rejects it with TaskCancelledError, and gives its token to the next waiter', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 1000 });
    const { log, call } = recorder();
    const controller = new AbortController();
    await limiter.execute(call('a'));
    const b = track(limiter.execute(call('b'), controller.signal));
    const c = limiter.execute(call('c'));
    expect(limiter.queueLength).toBe(2);

    await jest.advanceTimersByTimeAsync(50);
    controller.abort();
    expect(limiter.queueLength).toBe(1);
    const result = await b.outcome;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(isTaskCancelledError(result.error)).toBe(true);

    await jest.advanceTimersByTimeAsync(50);
    await expect(c).resolves.toBe('c');
    expect(log).toEqual([
      ['a', 0],
      ['c', 100], // b's token, not the one after it
    ]);
  });

  it('leaves the token in the bucket, and no timer behind, when the only waiter aborts', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 1000 });
    const controller = new AbortController();
    await limiter.execute(() => 'a');
    const b = outcome(limiter.execute(() => 'b', controller.signal));
    expect(jest.getTimerCount()).toBe(1);
    controller.abort();
    expect(jest.getTimerCount()).toBe(0);
    expect((await b).ok).toBe(false);

    await jest.advanceTimersByTimeAsync(100);
    expect(limiter.availableTokens).toBeCloseTo(1, 6);
    await expect(limiter.execute(() => 'c')).resolves.toBe('c');
  });

  it("keeps no listener on the caller's signal once the waiting call has started", async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 100 });
    const shutdown = new AbortController(); // a long-lived signal shared by many calls
    await limiter.execute(() => 'a', shutdown.signal);
    const b = limiter.execute(() => 'b', shutdown.signal);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(100);
    await expect(b).resolves.toBe('b');
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('does not reject a call whose signal aborts after it started: fn decides', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 0 });
    const controller = new AbortController();
    const result = limiter.execute(async ({ signal }) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return signal.aborted ? 'saw the abort' : 'no abort';
    }, controller.signal);
    controller.abort();
    await jest.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe('saw the abort');
  });
});

describe('RateLimiterPolicy: errors and events', () => {
  it("propagates fn's error unchanged, and the failed call still spent its token", async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 2, periodMs: 100, maxWaitMs: 0 });
    const boom = new Error('boom');
    const syncBoom = new TypeError('sync boom');
    await expect(limiter.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      limiter.execute(() => {
        throw syncBoom;
      }),
    ).rejects.toBe(syncBoom);
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'third')))).toBe(true);
  });

  it('fires onReject with retryAfterMs for every rejected call, until the listener is disposed', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 0 });
    const onReject = jest.fn();
    const listener = limiter.onReject(onReject);
    await limiter.execute(() => 'a');
    expect(onReject).not.toHaveBeenCalled();

    const error = await rejection(limiter.execute(() => 'b'));
    expect(onReject).toHaveBeenCalledTimes(1);
    expect(onReject).toHaveBeenCalledWith({ retryAfterMs: isRateLimitedError(error) ? error.retryAfterMs : NaN });
    expect(onReject.mock.calls[0]?.[0].retryAfterMs).toBeCloseTo(100, 6);

    listener.dispose();
    await rejection(limiter.execute(() => 'c'));
    expect(onReject).toHaveBeenCalledTimes(1);
  });

  it('fires onSuccess and onFailure with the duration of fn, not counting the wait for a token', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 100 });
    const onSuccess = jest.fn();
    const onFailure = jest.fn();
    limiter.onSuccess(onSuccess);
    limiter.onFailure(onFailure);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const boom = new Error('boom');

    const ok = limiter.execute(async () => {
      await sleep(30);
      return 'ok';
    });
    const failed = outcome(
      limiter.execute(async () => {
        await sleep(20); // starts at 100 ms, after waiting for its token
        throw boom;
      }),
    );
    await jest.advanceTimersByTimeAsync(120);
    await expect(ok).resolves.toBe('ok');
    expect(await failed).toEqual({ ok: false, error: boom });

    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess.mock.calls[0]?.[0].duration).toBeCloseTo(30, 6);
    expect(onFailure).toHaveBeenCalledTimes(1);
    expect(onFailure.mock.calls[0]?.[0]).toEqual({ duration: expect.any(Number), handled: false, reason: { error: boom } });
    expect(onFailure.mock.calls[0]?.[0].duration).toBeCloseTo(20, 6);
  });

  it('fires neither onSuccess nor onFailure for calls it rejects or cancels', async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 100 });
    const onSuccess = jest.fn();
    const onFailure = jest.fn();
    limiter.onSuccess(onSuccess);
    limiter.onFailure(onFailure);
    const controller = new AbortController();

    await limiter.execute(() => 'a');
    expect(onSuccess).toHaveBeenCalledTimes(1);
    const cancelled = outcome(limiter.execute(() => 'b', controller.signal));
    await rejection(limiter.execute(() => 'c')); // would wait 200 ms
    controller.abort();
    expect((await cancelled).ok).toBe(false);
    await jest.advanceTimersByTimeAsync(200);
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onFailure).not.toHaveBeenCalled();
  });

  it("composes with cockatiel's wrap(): a retry policy can wait out a RateLimitedError", async () => {
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100, maxWaitMs: 0 });
    const policy = wrap(
      retry(handleWhen(isRateLimitedError), { maxAttempts: 1, backoff: new ConstantBackoff(100) }),
      limiter,
    );
    const { log, call } = recorder();
    await expect(policy.execute(call('first'))).resolves.toBe('first');
    const second = policy.execute(call('second'));
    await jest.advanceTimersByTimeAsync(100);
    await expect(second).resolves.toBe('second');
    expect(log).toEqual([
      ['first', 0],
      ['second', 100],
    ]);
  });
});

describe('RateLimiterPolicy: options', () => {
  const valid: RateLimiterPolicyOptions = { maxCalls: 10, periodMs: 1000, maxWaitMs: 0 };

  it.each<[string, Partial<Record<keyof RateLimiterPolicyOptions, unknown>>, ErrorConstructor, string]>([
    ['maxCalls is 0', { maxCalls: 0 }, RangeError, '`maxCalls`'],
    ['maxCalls is negative', { maxCalls: -1 }, RangeError, '`maxCalls`'],
    ['maxCalls is fractional', { maxCalls: 1.5 }, RangeError, '`maxCalls`'],
    ['maxCalls is Infinity', { maxCalls: Infinity }, RangeError, '`maxCalls`'],
    ['maxCalls is NaN', { maxCalls: NaN }, TypeError, '`maxCalls`'],
    ['maxCalls is a string', { maxCalls: '10' }, TypeError, '`maxCalls`'],
    ['maxCalls is missing', { maxCalls: undefined }, TypeError, '`maxCalls`'],
    ['periodMs is 0', { periodMs: 0 }, RangeError, '`periodMs`'],
    ['periodMs is negative', { periodMs: -5 }, RangeError, '`periodMs`'],
    ['periodMs is Infinity', { periodMs: Infinity }, RangeError, '`periodMs`'],
    ['periodMs is NaN', { periodMs: NaN }, TypeError, '`periodMs`'],
    ['periodMs is missing', { periodMs: undefined }, TypeError, '`periodMs`'],
    ['maxWaitMs is negative', { maxWaitMs: -1 }, RangeError, '`maxWaitMs`'],
    ['maxWaitMs is NaN', { maxWaitMs: NaN }, TypeError, '`maxWaitMs`'],
    ['now is not a function', { now: 42 }, TypeError, '`now`'],
  ])('throws when %s, naming the option', (_, override, ErrorType, name) => {
    const options = { ...valid, ...override } as RateLimiterPolicyOptions;
    expect(() => new RateLimiterPolicy(options)).toThrow(ErrorType);
    expect(() => new RateLimiterPolicy(options)).toThrow(name);
  });

  it('accepts maxWaitMs 0 and Infinity, and defaults maxWaitMs to 0 (never wait)', async () => {
    expect(new RateLimiterPolicy({ ...valid, maxWaitMs: 0 }).maxWaitMs).toBe(0);
    expect(new RateLimiterPolicy({ ...valid, maxWaitMs: Infinity }).maxWaitMs).toBe(Infinity);
    const limiter = new RateLimiterPolicy({ maxCalls: 1, periodMs: 100 });
    expect(limiter.maxWaitMs).toBe(0);
    await limiter.execute(() => 'a');
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'b')))).toBe(true);
  });

  it('reads time through the injected clock', async () => {
    let clock = 5_000;
    const limiter = new RateLimiterPolicy({ maxCalls: 2, periodMs: 1000, maxWaitMs: 0, now: () => clock });
    await limiter.execute(() => 'a');
    await limiter.execute(() => 'b');
    await jest.advanceTimersByTimeAsync(10_000); // the timers' clock does not matter
    expect(limiter.availableTokens).toBe(0);
    clock += 500;
    expect(limiter.availableTokens).toBeCloseTo(1, 6);
    await expect(limiter.execute(() => 'c')).resolves.toBe('c');

    expect(isRateLimitedError(await rejection(limiter.execute(() => 'd')))).toBe(true);
  });

  it('neither adds nor takes away tokens when the clock goes back', async () => {
    let clock = 5_000;
    const limiter = new RateLimiterPolicy({ maxCalls: 2, periodMs: 1000, maxWaitMs: 0, now: () => clock });
    clock = 1_000;
    expect(limiter.availableTokens).toBe(2);
    await expect(Promise.all([limiter.execute(() => 'a'), limiter.execute(() => 'b')])).resolves.toEqual(['a', 'b']);
    clock = 0;
    expect(limiter.availableTokens).toBe(0);
    expect(isRateLimitedError(await rejection(limiter.execute(() => 'c')))).toBe(true);
  });
});
