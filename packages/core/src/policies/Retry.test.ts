import { EventType, ResilienceRegistry, isResilienceError } from '../index';
import type { ResilienceEvent, ResilientOptions } from '../index';
import { track } from '../../test/settled';


/** Runs `promise` to its end under fake timers (advancing up to `ms`) and returns the error it rejected with. */
async function rejectionOf(promise: Promise<unknown>, ms = 60_000): Promise<unknown> {
  const t = track(promise);
  await jest.advanceTimersByTimeAsync(ms);
  const outcome = t.outcome;
  if (!outcome.settled) throw new Error('expected the call to reject, it is still pending');
  if (outcome.ok) throw new Error(`expected the call to reject, it resolved with ${String(outcome.value)}`);
  return outcome.error;
}

/** Runs `promise` to its end under fake timers and returns its value. */
async function valueOf<V>(promise: Promise<V>, ms = 60_000): Promise<V> {
  const t = track(promise);
  await jest.advanceTimersByTimeAsync(ms);
  const outcome = t.outcome;
  if (!outcome.settled) throw new Error('expected the call to resolve, it is still pending');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A fresh registry and pipeline per test; every event it emits is recorded. */
function setup<R = unknown>(options: ResilientOptions<unknown[], R>) {
  const events: ResilienceEvent[] = [];
  const registry = new ResilienceRegistry();
  const policy = registry.resilient<unknown[], R, R>({ ...options, onEvent: (e) => events.push(e) });
  const of = <T extends ResilienceEvent['type']>(type: T) =>
    events.filter((e): e is Extract<ResilienceEvent, { type: T }> => e.type === type);
  return { registry, policy, events, of };
}

/** A function that fails with a new error on each call, and records the fake time of each call. */
function failing(make: (n: number) => unknown = (n) => new Error(`failure ${n}`)) {
  const thrown: unknown[] = [];
  const calledAt: number[] = [];
  const fn = jest.fn(async () => {
    calledAt.push(Date.now());
    const error = make(thrown.length + 1);
    thrown.push(error);
    throw error;
  });
  return { fn, thrown, calledAt };
}

class TransientError extends Error {
  override name = 'TransientError';
}
class PermanentError extends Error {
  override name = 'PermanentError';
}
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(`HTTP ${status}`);
    Object.assign(this, extra);
  }
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('retry: attempts', () => {
  it('maxAttempts counts total calls: with 3 the function runs 3 times, then the caller gets the last error itself', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false } });
    const { fn, thrown } = failing();
    const error = await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(3);
    expect(thrown).toHaveLength(3);
    expect(error).toBe(thrown[2]);
    expect(error).not.toBe(thrown[0]);
    expect(isResilienceError(error)).toBe(false);
  });

  it('rethrows a non-Error throwable as it is', async () => {
    const { policy } = setup({ retry: { maxAttempts: 2, delay: 10, jitter: false } });
    const { fn, thrown } = failing((n) => ({ code: 'PLAIN', n }));
    const error = await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(2);
    expect(error).toBe(thrown[1]);
    expect(error).toEqual({ code: 'PLAIN', n: 2 });
  });

  it('defaults to 3 attempts', async () => {
    const { policy } = setup({ retry: {} });
    const { fn, thrown } = failing();
    const error = await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(3);
    expect(error).toBe(thrown[2]);
  });

  it('maxAttempts 1 runs the function once and never retries', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 1, delay: 10 } });
    const { fn, thrown } = failing();
    const error = await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(1);
    expect(error).toBe(thrown[0]);
    expect(of('RETRY')).toHaveLength(0);
  });

  it('emits RETRY for attempts 1 and 2 with their delay, then RETRY_EXHAUSTED with the attempt count and last error', async () => {
    const { policy, events, of } = setup({ retry: { maxAttempts: 3, delay: 100, backoffFactor: 2, jitter: false } });
    const { fn, thrown } = failing();
    const wrapped = policy(fn);
    const error = await rejectionOf(wrapped());

    expect(events.map((e) => e.type)).toEqual([EventType.RETRY, EventType.RETRY, EventType.RETRY_EXHAUSTED, EventType.FAILURE]);
    const retries = of('RETRY');
    expect(retries.map((e) => [e.attempt, e.delayMs, e.error])).toEqual([
      [1, 100, thrown[0]],
      [2, 200, thrown[1]],
    ]);
    expect(retries[0]?.functionName).toBe(wrapped.functionName);
    const [exhausted] = of('RETRY_EXHAUSTED');
    expect(exhausted?.attempt).toBe(3);
    expect(exhausted?.error).toBe(thrown[2]);
    expect(exhausted?.error).toBe(error);
    const [failure] = of('FAILURE');
    expect(failure?.attempt).toBe(3);
    expect(failure?.error).toBe(error);
  });

  it('returns the value of a successful second attempt, with SUCCESS at attempt 2', async () => {
    const { policy, events, of } = setup({ retry: { maxAttempts: 3, delay: 50, jitter: false } });
    const first = new Error('first');
    const fn = jest.fn(async (a: number, b: number) => {
      if (fn.mock.calls.length === 1) throw first;
      return a + b;
    });
    const value = await valueOf(policy(fn)(2, 3));
    expect(value).toBe(5);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(fn).toHaveBeenNthCalledWith(2, 2, 3);
    expect(events.map((e) => e.type)).toEqual([EventType.RETRY, EventType.SUCCESS]);
    expect(of('RETRY')[0]?.error).toBe(first);
    expect(of('SUCCESS')[0]?.attempt).toBe(2);
  });

  it('a first-attempt success emits SUCCESS at attempt 1 and no RETRY', async () => {
    const { policy, events } = setup({ retry: { maxAttempts: 3 } });
    const fn = jest.fn(async () => 'ok');
    expect(await valueOf(policy(fn)())).toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.map((e) => [e.type, e.attempt])).toEqual([[EventType.SUCCESS, 1]]);
  });

  it('keeps `this` and the arguments on every attempt', async () => {
    const { policy } = setup({ retry: { maxAttempts: 2, delay: 10, jitter: false } });
    const seen: Array<[unknown, unknown[]]> = [];
    const target = {
      factor: 10,
      async run(this: { factor: number }, n: number) {
        seen.push([this, [n]]);
        if (seen.length === 1) throw new Error('once');
        return n * this.factor;
      },
    };
    const wrapped = policy(target.run);
    expect(await valueOf(wrapped.call(target, 4))).toBe(40);
    expect(seen).toEqual([
      [target, [4]],
      [target, [4]],
    ]);
  });
});

describe('retry: backoff', () => {
  /** Checks that the next call comes exactly `ms` after now: not 1 ms before, and right at it. */
  async function expectNextCallAfter(fn: jest.Mock, ms: number) {
    const before = fn.mock.calls.length;
    await jest.advanceTimersByTimeAsync(ms - 1);
    expect(fn).toHaveBeenCalledTimes(before);
    await jest.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(before + 1);
  }

  it('without jitter waits delay × backoffFactor^(n−1): 100, 200, 400 ms', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 4, delay: 100, backoffFactor: 2, jitter: false } });
    const { fn, thrown } = failing();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await expectNextCallAfter(fn, 100);
    await expectNextCallAfter(fn, 200);
    await expectNextCallAfter(fn, 400);
    await jest.advanceTimersByTimeAsync(0);
    expect(call.outcome).toEqual({ settled: true, ok: false, error: thrown[3] });
    expect(of('RETRY').map((e) => e.delayMs)).toEqual([100, 200, 400]);
    // No fifth call, however long we wait.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('maxDelay caps the grown delay', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 5, delay: 100, backoffFactor: 3, maxDelay: 250, jitter: false } });
    const { fn } = failing();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    await expectNextCallAfter(fn, 100);
    await expectNextCallAfter(fn, 250);
    await expectNextCallAfter(fn, 250);
    await expectNextCallAfter(fn, 250);
    await call.done;
    expect(of('RETRY').map((e) => e.delayMs)).toEqual([100, 250, 250, 250]);
  });

  it('takes duration strings for delay and maxDelay', async () => {
    const { policy } = setup({ retry: { maxAttempts: 4, delay: '1s', backoffFactor: 2, maxDelay: '1.5s', jitter: false } });
    const { fn } = failing();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    await expectNextCallAfter(fn, 1000);
    await expectNextCallAfter(fn, 1500);
    await expectNextCallAfter(fn, 1500);
    await call.done;
  });

  it('backoffFactor 1 keeps a constant delay', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 4, delay: 70, backoffFactor: 1, jitter: false } });
    const { fn } = failing();
    await rejectionOf(policy(fn)());
    expect(of('RETRY').map((e) => e.delayMs)).toEqual([70, 70, 70]);
  });

  it('with jitter every delay is within [d / 2, d] of its backoff step, and they vary', async () => {
    const maxAttempts = 8;
    const { policy, of } = setup({ retry: { maxAttempts, delay: 100, backoffFactor: 2, maxDelay: '1h', jitter: true } });
    const { fn } = failing();
    const wrapped = policy(fn);
    for (let i = 0; i < 25; i++) await rejectionOf(wrapped(), 100_000);
    const retries = of('RETRY');
    expect(retries).toHaveLength(25 * (maxAttempts - 1));
    const distinct = new Set<number>();
    for (const event of retries) {
      const d = 100 * 2 ** ((event.attempt ?? Number.NaN) - 1);
      expect(event.delayMs).toBeGreaterThanOrEqual(d / 2);
      expect(event.delayMs).toBeLessThanOrEqual(d);
      if (event.attempt === 1) distinct.add(event.delayMs);
    }
    // 25 random draws for the first step: jitter really spreads them.
    expect(distinct.size).toBeGreaterThan(5);
    expect(Math.min(...distinct)).toBeLessThan(90);
  });

  it('jitter is on by default (delay 100 ms, factor 2) and the sleep lasts the delay the RETRY event reports', async () => {
    // Pin the random draw: the jittered delay is then d/2 + d/4 = 0.75 d.
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const { policy, of } = setup({ retry: { maxAttempts: 3 } });
    const { fn } = failing();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    await expectNextCallAfter(fn, 75);
    await expectNextCallAfter(fn, 150);
    await call.done;
    expect(of('RETRY').map((e) => e.delayMs)).toEqual([75, 150]);
  });

  it('jitter reaches d / 2 at the lowest draw, and stays at most d at the highest', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    const low = setup({ retry: { maxAttempts: 3, delay: 200, jitter: true } });
    await rejectionOf(low.policy(failing().fn)());
    expect(low.of('RETRY').map((e) => e.delayMs)).toEqual([100, 200]);

    random.mockReturnValue(0.999999);
    const high = setup({ retry: { maxAttempts: 3, delay: 200, jitter: true } });
    await rejectionOf(high.policy(failing().fn)());
    const [first, second] = high.of('RETRY').map((e) => e.delayMs);
    expect(first).toBeLessThanOrEqual(200);
    expect(first).toBeGreaterThan(199.99);
    expect(second).toBeLessThanOrEqual(400);
    expect(second).toBeGreaterThan(399.99);
  });

  it('a delay function receives the failed attempt (from 1) and its error, and replaces the backoff', async () => {
    const delay = jest.fn((attempt: number, _error: unknown) => attempt * 30);
    const { policy, of } = setup({ retry: { maxAttempts: 4, delay, backoffFactor: 10, jitter: true } });
    const { fn, thrown } = failing();
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    await expectNextCallAfter(fn, 30);
    await expectNextCallAfter(fn, 60);
    await expectNextCallAfter(fn, 90);
    await call.done;
    expect(delay.mock.calls).toEqual([
      [1, thrown[0]],
      [2, thrown[1]],
      [3, thrown[2]],
    ]);
    // Neither backoffFactor nor jitter applies to the function's answer.
    expect(of('RETRY').map((e) => e.delayMs)).toEqual([30, 60, 90]);
  });

  it('a delay function returning 0 retries without waiting', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: () => 0 } });
    const { fn, thrown } = failing();
    const call = track(policy(fn)());
    // A zero delay still goes through a (zero-length) timer: a few fake milliseconds run them all.
    await jest.advanceTimersByTimeAsync(3);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(call.outcome).toEqual({ settled: true, ok: false, error: thrown[2] });
  });
});

describe('retry: which errors are retried', () => {
  it('retryOn with error classes retries only those', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 5, delay: 10, jitter: false, retryOn: [TransientError] } });
    const permanent = new PermanentError('stop');
    const fn = jest.fn(async () => {
      if (fn.mock.calls.length < 3) throw new TransientError('again');
      throw permanent;
    });
    const error = await rejectionOf(policy(fn)());
    expect(error).toBe(permanent);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(of('RETRY')).toHaveLength(2);
    // Not retried is not exhausted: the error was never retryable.
    expect(of('RETRY_EXHAUSTED')).toHaveLength(0);
  });

  it('retryOn with a predicate retries only matching errors', async () => {
    const predicate = jest.fn((e: unknown) => e instanceof HttpError && e.status >= 500);
    const { policy } = setup({ retry: { maxAttempts: 5, delay: 10, jitter: false, retryOn: [predicate] } });
    const statuses = [503, 500, 404, 503];
    const thrown: HttpError[] = [];
    const fn = jest.fn(async () => {
      const error = new HttpError(statuses[thrown.length] ?? 200);
      thrown.push(error);
      throw error;
    });
    const error = await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(3);
    expect(error).toBe(thrown[2]);
    expect((error as HttpError).status).toBe(404);
    expect(predicate).toHaveBeenCalledWith(thrown[0]);
  });

  it('retryOn matches when any of several matchers (class or predicate) matches', async () => {
    const { policy } = setup({
      retry: { maxAttempts: 4, delay: 10, jitter: false, retryOn: [TransientError, (e) => (e as { code?: string }).code === 'ECONNRESET'] },
    });
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const final = new PermanentError('final');
    const errors = [new TransientError('t'), reset, final];
    const fn = jest.fn(async () => {
      throw errors[fn.mock.calls.length - 1];
    });
    expect(await rejectionOf(policy(fn)())).toBe(final);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('without retryOn every error of the function is retried', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false } });
    const fn = jest.fn(async () => {
      throw new TypeError('any');
    });
    await rejectionOf(policy(fn)());
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('retry: ignoreOn', () => {
  it('an ignored error is never retried, never sent to the fallback, and reaches the caller as it is', async () => {
    const handler = jest.fn(() => 'fallback');
    const { policy, events } = setup({
      retry: { maxAttempts: 5, delay: 10, jitter: false, ignoreOn: [PermanentError] },
      fallback: handler,
    });
    const ignored = new PermanentError('bad request');
    const fn = jest.fn(async () => {
      throw ignored;
    });
    const error = await rejectionOf(policy(fn)());
    expect(error).toBe(ignored);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(handler).not.toHaveBeenCalled();
    expect(events.map((e) => e.type)).toEqual([EventType.FAILURE]);
    expect(events[0]?.error).toBe(ignored);
  });

  it('the same pipeline does use its fallback, after retrying, for an error that is not ignored', async () => {
    const handler = jest.fn(() => 'fallback');
    const { policy, of } = setup({
      retry: { maxAttempts: 2, delay: 10, jitter: false, ignoreOn: [PermanentError] },
      fallback: handler,
    });
    const { fn, thrown } = failing();
    expect(await valueOf(policy(fn)())).toBe('fallback');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(handler).toHaveBeenCalledWith(thrown[1], []);
    expect(of('FALLBACK_USED')).toHaveLength(1);
  });

  it('an ignored error is not counted by the circuit breaker (failureThreshold 1 stays closed)', async () => {
    const { policy } = setup({
      retry: { maxAttempts: 3, delay: 10, jitter: false, ignoreOn: [(e) => e instanceof HttpError && e.status < 500] },
      circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' },
    });
    let status = 400;
    const fn = jest.fn(async () => {
      throw new HttpError(status);
    });
    const wrapped = policy(fn);
    for (let i = 0; i < 3; i++) {
      const error = await rejectionOf(wrapped());
      expect((error as HttpError).status).toBe(400);
    }
    expect(fn).toHaveBeenCalledTimes(3);
    expect(wrapped.circuitBreaker?.state).toBe('closed');

    // Control: a counted error does open it at once (and ends the retries).
    status = 503;
    await rejectionOf(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
  });

  it('ignoreOn wins over retryOn', async () => {
    const { policy } = setup({
      retry: { maxAttempts: 4, delay: 10, jitter: false, retryOn: [TransientError], ignoreOn: [(e) => (e as Error).message === 'ignore me'] },
    });
    const error = new TransientError('ignore me');
    const fn = jest.fn(async () => {
      throw error;
    });
    expect(await rejectionOf(policy(fn)())).toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('an ignored error after retryable ones ends the retries with that error', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 5, delay: 10, jitter: false, ignoreOn: [PermanentError] } });
    const ignored = new PermanentError('no');
    const fn = jest.fn(async () => {
      if (fn.mock.calls.length === 1) throw new TransientError('again');
      throw ignored;
    });
    expect(await rejectionOf(policy(fn)())).toBe(ignored);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(of('RETRY')).toHaveLength(1);
    expect(of('RETRY_EXHAUSTED')).toHaveLength(0);
  });
});

describe('retry: retryOnResult', () => {
  it('retries while the result is rejected and returns the first accepted result', async () => {
    const retryOnResult = jest.fn((r: { status: number }) => r.status === 503);
    const { policy, of } = setup({ retry: { maxAttempts: 5, delay: 10, jitter: false, retryOnResult } });
    const results = [{ status: 503 }, { status: 503 }, { status: 200 }, { status: 503 }];
    let calls = 0;
    const fn = jest.fn(async (): Promise<{ status: number }> => results[calls++] as { status: number });
    const value = await valueOf(policy(fn)());
    expect(value).toBe(results[2]);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(retryOnResult).toHaveBeenCalledWith(results[0]);
    expect(of('RETRY').map((e) => [e.attempt, e.result, e.error])).toEqual([
      [1, results[0], undefined],
      [2, results[1], undefined],
    ]);
    expect(of('SUCCESS')[0]?.attempt).toBe(3);
  });

  it('returns the LAST result when the attempts run out on rejected results', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 3, delay: 10, jitter: false, retryOnResult: (r: { n: number }) => r.n > 0 } });
    const results = [{ n: 1 }, { n: 2 }, { n: 3 }];
    let calls = 0;
    const fn = jest.fn(async (): Promise<{ n: number }> => results[calls++] as { n: number });
    const value = await valueOf(policy(fn)());
    expect(value).toBe(results[2]);
    expect(fn).toHaveBeenCalledTimes(3);
    const [exhausted] = of('RETRY_EXHAUSTED');
    expect(exhausted?.attempt).toBe(3);
    expect(exhausted?.result).toBe(results[2]);
    expect(exhausted?.error).toBeUndefined();
  });

  it('still retries errors alongside rejected results', async () => {
    const { policy } = setup({ retry: { maxAttempts: 4, delay: 10, jitter: false, retryOnResult: (r: string) => r === 'busy' } });
    const outcomes: Array<() => string> = [
      () => 'busy',
      () => {
        throw new Error('boom');
      },
      () => 'done',
    ];
    let calls = 0;
    const fn = jest.fn(async (): Promise<string> => (outcomes[calls++] as () => string)());
    expect(await valueOf(policy(fn)())).toBe('done');
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('retry: Retry-After hints', () => {
  /** Fails once with `error`, then succeeds; returns the wait between the two calls. */
  async function waitAfter(error: unknown, retry: NonNullable<ResilientOptions['retry']> = {}) {
    const { policy, of } = setup({ retry: { maxAttempts: 2, delay: 100, jitter: false, ...retry } });
    const fn = jest.fn(async () => {
      if (fn.mock.calls.length === 1) throw error;
      return 'ok';
    });
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    return {
      fn,
      call,
      of,
      /** Asserts the second call comes exactly `ms` later. */
      async expectRetryAfter(ms: number) {
        await jest.advanceTimersByTimeAsync(ms - 1);
        expect(fn).toHaveBeenCalledTimes(1);
        await jest.advanceTimersByTimeAsync(1);
        expect(fn).toHaveBeenCalledTimes(2);
        await call.done;
        expect(call.outcome).toEqual({ settled: true, ok: true, value: 'ok' });
        expect(of('RETRY')[0]?.delayMs).toBe(ms);
      },
    };
  }

  it("waits error.retryAfter milliseconds", async () => {
    const run = await waitAfter(Object.assign(new Error('429'), { retryAfter: 1234 }));
    await run.expectRetryAfter(1234);
  });

  it("waits headers['retry-after'] seconds", async () => {
    const run = await waitAfter(new HttpError(429, { headers: { 'retry-after': '3' } }));
    await run.expectRetryAfter(3000);
  });

  it('reads a Retry-After header name in any case, and a numeric header value', async () => {
    const run = await waitAfter(new HttpError(503, { headers: { 'Retry-After': 2 } }));
    await run.expectRetryAfter(2000);
  });

  it('reads response.headers as a Headers object', async () => {
    const run = await waitAfter(new HttpError(429, { response: { status: 429, headers: new Headers({ 'Retry-After': '2' }) } }));
    await run.expectRetryAfter(2000);
  });

  it('reads an HTTP date and waits until then', async () => {
    jest.setSystemTime(new Date('2030-01-01T00:00:00.000Z'));
    const at = new Date(Date.now() + 7000).toUTCString();
    const run = await waitAfter(new HttpError(503, { headers: { 'retry-after': at } }));
    await run.expectRetryAfter(7000);
  });

  it('a hint is not capped by maxDelay and not jittered', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const run = await waitAfter(Object.assign(new Error('slow down'), { retryAfter: 5000 }), { maxDelay: 1000, jitter: true });
    await run.expectRetryAfter(5000);
  });

  it('a hint of 0 retries at once, whatever the backoff', async () => {
    const { policy, of } = setup({ retry: { maxAttempts: 2, delay: 10_000, jitter: false } });
    const fn = jest.fn(async () => {
      if (fn.mock.calls.length === 1) throw Object.assign(new Error('now'), { retryAfter: 0 });
      return 'ok';
    });
    const call = track(policy(fn)());
    await jest.advanceTimersByTimeAsync(2);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(call.outcome).toEqual({ settled: true, ok: true, value: 'ok' });
    expect(of('RETRY')[0]?.delayMs).toBe(0);
  });

  it('honorRetryAfter: false ignores the hint and uses the backoff', async () => {
    const run = await waitAfter(new HttpError(429, { retryAfter: 5000, headers: { 'retry-after': '9' } }), { honorRetryAfter: false });
    await run.expectRetryAfter(100);
  });

  it('an unreadable hint falls back to the backoff', async () => {
    const run = await waitAfter(new HttpError(503, { headers: { 'retry-after': 'soon' } }));
    await run.expectRetryAfter(100);
  });

  it('a hint wins over a delay function', async () => {
    const delay = jest.fn(() => 10);
    const run = await waitAfter(Object.assign(new Error('x'), { retryAfter: 600 }), { delay });
    await run.expectRetryAfter(600);
  });
});

describe('retry: options are checked when the pipeline is made', () => {
  const make = (retry: unknown) => () => new ResilienceRegistry().resilient({ retry } as ResilientOptions);

  it('rejects maxAttempts that is not a positive integer', () => {
    expect(make({ maxAttempts: 0 })).toThrow(RangeError);
    expect(make({ maxAttempts: 0 })).toThrow(/`retry\.maxAttempts`/);
    expect(make({ maxAttempts: 2.5 })).toThrow(/`retry\.maxAttempts`/);
    expect(make({ maxAttempts: -1 })).toThrow(/`retry\.maxAttempts`/);
    expect(make({ maxAttempts: '3' })).toThrow(/`retry\.maxAttempts`/);
    expect(make({ maxAttempts: 1 })).not.toThrow();
  });

  it('rejects a backoffFactor below 1', () => {
    expect(make({ backoffFactor: 0.5 })).toThrow(RangeError);
    expect(make({ backoffFactor: 0.5 })).toThrow(/`retry\.backoffFactor`/);
    expect(make({ backoffFactor: Number.NaN })).toThrow(/`retry\.backoffFactor`/);
    expect(make({ backoffFactor: 1 })).not.toThrow();
  });

  it('rejects retryOn and ignoreOn that are not arrays of classes or predicates', () => {
    expect(make({ retryOn: TransientError })).toThrow(TypeError);
    expect(make({ retryOn: TransientError })).toThrow(/`retry\.retryOn`/);
    expect(make({ retryOn: ['TransientError'] })).toThrow(/`retry\.retryOn`/);
    expect(make({ ignoreOn: PermanentError })).toThrow(TypeError);
    expect(make({ ignoreOn: PermanentError })).toThrow(/`retry\.ignoreOn`/);
    expect(make({ retryOn: [TransientError], ignoreOn: [() => false] })).not.toThrow();
  });

  it('rejects a bad delay, maxDelay, jitter or retryOnResult', () => {
    expect(make({ delay: 'soon' })).toThrow(TypeError);
    expect(make({ delay: 'soon' })).toThrow(/`retry\.delay`/);
    expect(make({ delay: -5 })).toThrow(RangeError);
    expect(make({ delay: -5 })).toThrow(/`retry\.delay`/);
    expect(make({ maxDelay: 'later' })).toThrow(/`retry\.maxDelay`/);
    expect(make({ jitter: 'yes' })).toThrow(TypeError);
    expect(make({ jitter: 'yes' })).toThrow(/`retry\.jitter`/);
    expect(make({ retryOnResult: true })).toThrow(TypeError);
    expect(make({ retryOnResult: true })).toThrow(/`retry\.retryOnResult`/);
  });

  it('a delay function returning -1 fails the call with a TypeError naming `retry.delay`, without retrying', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: () => -1 } });
    const { fn } = failing();
    const error = await rejectionOf(policy(fn)());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/`retry\.delay`/);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a delay function returning a non-number fails the call the same way', async () => {
    const { policy } = setup({ retry: { maxAttempts: 3, delay: (() => 'soon') as unknown as () => number } });
    const { fn } = failing();
    const error = await rejectionOf(policy(fn)());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/`retry\.delay`/);
  });
});
