import { EventType, RateLimitedError, ResilienceRegistry, isRateLimitedError, isResilienceError } from './index';
import type { RateLimiterOptions, ResilienceEvent, ResilientOptions } from './index';
import { outcome, track, rejection } from '../test/outcome';


const flush = () => jest.advanceTimersByTimeAsync(0);

function setup(rateLimiter: RateLimiterOptions, more: Omit<ResilientOptions, 'rateLimiter' | 'onEvent'> = {}) {
  const registry = new ResilienceRegistry();
  const events: ResilienceEvent[] = [];
  const policy = registry.resilient({ ...more, rateLimiter, onEvent: (e) => events.push(e) });
  /** Records the (fake) time at which each call of the function started. */
  const startedAt: Array<[arg: string, at: number]> = [];
  const fn = jest.fn(async (arg: string) => {
    startedAt.push([arg, Date.now() - t0]);
    return `${arg} done`;
  });
  const t0 = Date.now();
  return { registry, policy, events, fn, startedAt };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('rate limiter in the pipeline: reject', () => {
  it('maxCalls 2 per 1s: the third call is rejected with RateLimitedError and a RATE_LIMITED event', async () => {
    const { policy, events, fn } = setup({ maxCalls: 2, period: '1s' });
    const wrapped = policy(fn);
    await expect(wrapped('a')).resolves.toBe('a done');
    await expect(wrapped('b')).resolves.toBe('b done');

    const error = await rejection(wrapped('c'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    expect(isResilienceError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_RATE_LIMITED', name: 'RateLimitedError' });
    // One token comes back every 1000 / 2 = 500 ms.
    const retryAfterMs = (error as RateLimitedError).retryAfterMs;
    expect(retryAfterMs).toBeCloseTo(500, 6);
    expect(fn).toHaveBeenCalledTimes(2);

    const limited = events.filter((e) => e.type === EventType.RATE_LIMITED);
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({ type: 'RATE_LIMITED', error, retryAfterMs, functionName: 'mockConstructor' });
    // The rejection ends the call: FAILURE with the same error.
    expect(events.at(-1)).toMatchObject({ type: 'FAILURE', error });
  });

  it('retryAfterMs shrinks as time passes, and a token is back when it has elapsed', async () => {
    const { policy, fn } = setup({ maxCalls: 2, period: '1s' });
    const wrapped = policy(fn);
    await wrapped('a');
    await wrapped('b');
    await jest.advanceTimersByTimeAsync(200);
    const error = (await rejection(wrapped('c'))) as RateLimitedError;
    expect(error.retryAfterMs).toBeCloseTo(300, 6);
    await jest.advanceTimersByTimeAsync(299);
    expect(isRateLimitedError(await rejection(wrapped('d')))).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    await expect(wrapped('e')).resolves.toBe('e done');
    // Only one token came back: the next call is limited again.
    expect(isRateLimitedError(await rejection(wrapped('f')))).toBe(true);
    expect(fn.mock.calls.map(([arg]) => arg)).toEqual(['a', 'b', 'e']);
  });

  it('a rejected call costs no token; a call that fails still spends one', async () => {
    const { policy } = setup({ maxCalls: 1, period: '1s' });
    const broken = new Error('broken');
    const failing = jest.fn(async () => {
      throw broken;
    });
    const wrapped = policy(failing);
    await expect(wrapped()).rejects.toBe(broken);
    for (let i = 0; i < 3; i++) expect(isRateLimitedError(await rejection(wrapped()))).toBe(true);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(wrapped()).rejects.toBe(broken); // the rejections did not push the token further away
    expect(failing).toHaveBeenCalledTimes(2);
  });

  it('is shared by every function the pipeline wraps', async () => {
    const { policy } = setup({ maxCalls: 1, period: '1m' });
    const one = policy(async () => 1);
    const two = policy(async () => 2);
    expect(two.rateLimiter).toBe(one.rateLimiter);
    expect(policy.rateLimiter).toBe(one.rateLimiter);
    await expect(one()).resolves.toBe(1);
    expect(isRateLimitedError(await rejection(two()))).toBe(true);
  });

  it('bounds call starts, not concurrency: a long call does not hold a token back', async () => {
    const { policy } = setup({ maxCalls: 1, period: '100ms' });
    const wrapped = policy((ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)));
    const long = track(wrapped(10_000));
    await jest.advanceTimersByTimeAsync(100);
    const short = track(wrapped(1));
    await jest.advanceTimersByTimeAsync(1);
    expect(await short.outcome).toEqual({ ok: true, value: 1 });
    expect(long.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await long.outcome).toEqual({ ok: true, value: 10_000 });
  });
});

describe('rate limiter in the pipeline: maxWait', () => {
  it('queues a call whose token comes within maxWait, then runs it', async () => {
    const { policy, fn, startedAt, events } = setup({ maxCalls: 1, period: '1s', maxWait: '2s' });
    const wrapped = policy(fn);
    await wrapped('a');
    const b = track(wrapped('b'));
    await flush();
    expect(fn).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(b.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await b.outcome).toEqual({ ok: true, value: 'b done' });
    expect(startedAt).toEqual([
      ['a', 0],
      ['b', 1_000],
    ]);
    expect(events.some((e) => e.type === EventType.RATE_LIMITED)).toBe(false);
  });

  it('runs queued calls in arrival order, one per token', async () => {
    const { policy, fn, startedAt } = setup({ maxCalls: 2, period: '1s', maxWait: '5s' });
    const wrapped = policy(fn);
    const calls = ['a', 'b', 'c', 'd', 'e'].map((arg) => wrapped(arg));
    await jest.advanceTimersByTimeAsync(2_000);
    await expect(Promise.all(calls)).resolves.toEqual(['a done', 'b done', 'c done', 'd done', 'e done']);
    expect(startedAt).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 500],
      ['d', 1_000],
      ['e', 1_500],
    ]);
  });

  it('rejects at once a call whose token would come later than maxWait', async () => {
    const { policy, fn, events } = setup({ maxCalls: 1, period: '1s', maxWait: '1500ms' });
    const wrapped = policy(fn);
    await wrapped('a');
    const b = track(wrapped('b')); // its token: in 1 s
    await flush();
    const error = await rejection(wrapped('c')); // in 2 s, more than maxWait: no waiting at all
    expect(isRateLimitedError(error)).toBe(true);
    expect((error as RateLimitedError).retryAfterMs).toBeCloseTo(2_000, 6);
    expect(events.filter((e) => e.type === EventType.RATE_LIMITED)).toMatchObject([{ retryAfterMs: (error as RateLimitedError).retryAfterMs }]);
    expect(b.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await b.outcome).toEqual({ ok: true, value: 'b done' });
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('rate limiter in the pipeline: with other layers', () => {
  it('a fallback answers RateLimitedError, with FALLBACK_USED', async () => {
    const { policy, fn, events } = setup(
      { maxCalls: 1, period: '1s' },
      { fallback: (error: unknown, args: unknown[]) => (isRateLimitedError(error) ? `${String(args[0])} later` : 'failed') },
    );
    const wrapped = policy(fn);
    await expect(wrapped('a')).resolves.toBe('a done');
    await expect(wrapped('b')).resolves.toBe('b later');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.type)).toEqual(['SUCCESS', 'RATE_LIMITED', 'FALLBACK_USED']);
    expect(isRateLimitedError(events.at(-1)?.error)).toBe(true);
  });

  it('a fallback limited by fallbackOn lets RateLimitedError through', async () => {
    class Down extends Error {}
    const { policy, fn } = setup({ maxCalls: 1, period: '1s' }, { fallback: { handler: 'default', fallbackOn: [Down] } });
    const wrapped = policy(fn);
    await wrapped('a');
    expect(isRateLimitedError(await rejection(wrapped('b')))).toBe(true);
  });

  it('retries run inside the limiter: they spend no token of their own', async () => {
    const { policy } = setup({ maxCalls: 1, period: '1h' }, { retry: { maxAttempts: 3, delay: 10, jitter: false } });
    let attempts = 0;
    const wrapped = policy(async () => {
      attempts++;
      if (attempts < 3) throw new Error(`attempt ${attempts}`);
      return 'third time lucky';
    });
    const call = outcome(wrapped());
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await call).toEqual({ ok: true, value: 'third time lucky' });
    expect(attempts).toBe(3);
  });

  it('a RateLimitedError is never retried', async () => {
    const { policy, fn, events } = setup({ maxCalls: 1, period: '1h' }, { retry: { maxAttempts: 5, delay: 10 } });
    const wrapped = policy(fn);
    await wrapped('a');
    const call = outcome(wrapped('b'));
    await jest.advanceTimersByTimeAsync(1_000);
    const result = await call;
    expect(!result.ok && isRateLimitedError(result.error)).toBe(true);
    expect(events.some((e) => e.type === EventType.RETRY)).toBe(false);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a cache hit spends no token', async () => {
    const { policy, fn } = setup({ maxCalls: 1, period: '1h' }, { cache: { ttl: '1m' } });
    const wrapped = policy(fn);
    await expect(wrapped('a')).resolves.toBe('a done');
    for (let i = 0; i < 5; i++) await expect(wrapped('a')).resolves.toBe('a done');
    expect(isRateLimitedError(await rejection(wrapped('b')))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('exposes availableTokens and queueLength on the wrapped function', async () => {
    const { policy, fn } = setup({ maxCalls: 3, period: '3s', maxWait: '10s' });
    const wrapped = policy(fn);
    expect(wrapped.rateLimiter?.availableTokens).toBe(3);
    await wrapped('a');
    expect(wrapped.rateLimiter?.availableTokens).toBeCloseTo(2, 6);
    await wrapped('b');
    await wrapped('c');
    const d = wrapped('d');
    expect(wrapped.rateLimiter?.queueLength).toBe(1);
    await jest.advanceTimersByTimeAsync(1_000);
    await d;
    expect(wrapped.rateLimiter?.queueLength).toBe(0);
  });
});

describe('rate limiter in the pipeline: options', () => {
  it('refuses a bad maxCalls, period or maxWait', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ rateLimiter: { maxCalls: 0, period: '1s' } })).toThrow(/maxCalls/);
    expect(() => registry.resilient({ rateLimiter: { maxCalls: 1.5, period: '1s' } })).toThrow(/maxCalls/);
    expect(() => registry.resilient({ rateLimiter: { maxCalls: 1, period: 'often' } })).toThrow(/rateLimiter\.period/);
    expect(() => registry.resilient({ rateLimiter: { maxCalls: 1, period: 0 } })).toThrow(RangeError);
    expect(() => registry.resilient({ rateLimiter: { maxCalls: 1, period: '1s', maxWait: -1 } })).toThrow(/rateLimiter\.maxWait/);
  });
});
