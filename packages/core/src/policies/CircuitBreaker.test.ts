import { CircuitOpenError, EventType, ResilienceRegistry, isCircuitOpenError, isRateLimitedError } from '../index';
import type { CircuitBreakerOptions, ResilienceEvent, ResilientOptions } from '../index';
import { outcome, track, rejection } from '../../test/outcome';

/** The error our failing functions throw. */
class Boom extends Error {
  constructor(message = 'boom') {
    super(message);
    this.name = 'Boom';
  }
}

class NotFound extends Error {
  constructor() {
    super('not found');
    this.name = 'NotFound';
  }
}


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A function whose behaviour the test switches: `mode.fail = true` makes it throw a new Boom (kept in
 * `errors`), otherwise it returns 'ok'.
 */
function switchable() {
  const errors: Boom[] = [];
  const mode = { fail: true };
  const fn = jest.fn(async () => {
    if (mode.fail) {
      const error = new Boom(`boom ${errors.length + 1}`);
      errors.push(error);
      throw error;
    }
    return 'ok';
  });
  return { fn, mode, errors };
}

/** A fresh registry and a pipeline with a breaker, recording every event of the pipeline. */
function setup(breaker: CircuitBreakerOptions, more: Omit<ResilientOptions, 'circuitBreaker' | 'onEvent'> = {}) {
  const registry = new ResilienceRegistry();
  const events: ResilienceEvent[] = [];
  const policy = registry.resilient({ ...more, circuitBreaker: breaker, onEvent: (e) => events.push(e) });
  const types = () => events.map((e) => e.type);
  const circuitEvents = () => events.filter((e) => e.type.startsWith('CIRCUIT_')).map((e) => e.type);
  return { registry, policy, events, types, circuitEvents };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('circuit breaker: consecutive failures', () => {
  it('opens after failureThreshold consecutive failures, with a CIRCUIT_OPEN event carrying the error', async () => {
    const { policy, events } = setup({ failureThreshold: 3, halfOpenAfter: '10s' });
    const { fn, errors } = switchable();
    const wrapped = policy(fn);

    for (let i = 0; i < 2; i++) {
      expect(await rejection(wrapped())).toBe(errors[i]);
      expect(wrapped.circuitBreaker?.state).toBe('closed');
    }
    expect(events.some((e) => e.type === EventType.CIRCUIT_OPEN)).toBe(false);

    // The third failure opens the circuit; its caller still gets the function's own error.
    const third = await rejection(wrapped());
    expect(third).toBe(errors[2]);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    const opened = events.filter((e) => e.type === EventType.CIRCUIT_OPEN);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ type: 'CIRCUIT_OPEN', error: errors[2], isolated: false, functionName: 'mockConstructor' });
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('fails fast with CircuitOpenError while open, without calling the function', async () => {
    const { policy, events } = setup({ failureThreshold: 2, halfOpenAfter: '10s' });
    const { fn } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    expect(fn).toHaveBeenCalledTimes(2);

    for (let i = 0; i < 5; i++) {
      const error = await rejection(wrapped());
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(isCircuitOpenError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN', isolated: false, name: 'CircuitOpenError' });
    }
    expect(fn).toHaveBeenCalledTimes(2);
    // The rejections end as FAILURE events carrying the CircuitOpenError.
    const failures = events.filter((e) => e.type === EventType.FAILURE);
    expect(failures).toHaveLength(7);
    expect(failures.slice(2).every((e) => isCircuitOpenError(e.error))).toBe(true);
  });

  it('a CircuitOpenError says how long until the circuit half-opens (retryAfterMs), for Retry-After', async () => {
    const { policy } = setup({ failureThreshold: 2, halfOpenAfter: '10s' });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped()); // opens now
    expect(await rejection(wrapped())).toMatchObject({ retryAfterMs: 10_000 });
    await jest.advanceTimersByTimeAsync(2_500);
    expect(await rejection(wrapped())).toMatchObject({ retryAfterMs: 7_500 });
    await jest.advanceTimersByTimeAsync(7_499);
    expect(await rejection(wrapped())).toMatchObject({ retryAfterMs: 1 });
    await jest.advanceTimersByTimeAsync(1);
    mode.fail = false;
    await expect(wrapped()).resolves.toBe('ok'); // the half-open trial
    expect(new CircuitOpenError({ isolated: true, retryAfterMs: 5 }).retryAfterMs).toBeUndefined();
  });

  it('counts only consecutive failures: a success in between starts the count again', async () => {
    const { policy } = setup({ failureThreshold: 3 });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    mode.fail = false;
    await expect(wrapped()).resolves.toBe('ok');
    mode.fail = true;
    await rejection(wrapped());
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
  });

  it('rejects an open call before the rate limiter: no token is spent while open', async () => {
    // Two tokens per hour: the two failures that open the circuit spend both.
    const { policy, events } = setup({ failureThreshold: 2, halfOpenAfter: '10s' }, { rateLimiter: { maxCalls: 2, period: '1h' } });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');

    // Were the limiter asked first, these would be RateLimitedErrors.
    for (let i = 0; i < 3; i++) expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(events.some((e) => e.type === EventType.RATE_LIMITED)).toBe(false);

    // Once the circuit may half-open, the call is admitted and meets the (still empty) limiter.
    mode.fail = false;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(isRateLimitedError(await rejection(wrapped()))).toBe(true);
    expect(events.filter((e) => e.type === EventType.RATE_LIMITED)).toHaveLength(1);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('rejects an open call before the bulkhead: a full bulkhead is not what the caller hears about', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    registry.on('*', (e) => events.push(e));
    // Two pipelines share the breaker 'svc'; the first has a bulkhead of one slot and no queue.
    const guarded = registry.resilient({ circuitBreaker: { name: 'svc', failureThreshold: 2 }, bulkhead: { maxConcurrent: 1 } });
    const other = registry.resilient({ circuitBreaker: { name: 'svc', failureThreshold: 2 } });
    let release!: (value: string) => void;
    const slow = guarded(() => new Promise<string>((resolve) => (release = resolve)));
    const failing = other(async () => {
      throw new Boom();
    });

    const holding = slow(); // takes the bulkhead's only slot
    await jest.advanceTimersByTimeAsync(0);
    expect(slow.bulkhead?.executionSlots).toBe(0);
    await rejection(failing());
    await rejection(failing());
    expect(registry.breaker('svc')?.state).toBe('open');

    const error = await rejection(slow());
    expect(isCircuitOpenError(error)).toBe(true);
    expect(events.some((e) => e.type === EventType.BULKHEAD_REJECTED)).toBe(false);

    release('done');
    await expect(holding).resolves.toBe('done');
    expect(slow.bulkhead?.executionSlots).toBe(1);
  });
});

describe('circuit breaker: half-open', () => {
  it('half-opens after halfOpenAfter, and a successful trial closes it', async () => {
    const { policy, circuitEvents } = setup({ failureThreshold: 2, halfOpenAfter: '10s' });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    mode.fail = false;

    await jest.advanceTimersByTimeAsync(9_999);
    expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(2);

    await jest.advanceTimersByTimeAsync(1);
    await expect(wrapped()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(circuitEvents()).toEqual(['CIRCUIT_OPEN', 'CIRCUIT_HALF_OPEN', 'CIRCUIT_CLOSED']);
    expect(wrapped.circuitBreaker?.state).toBe('closed');

    // Closed again: calls flow, and it takes failureThreshold new failures to open it.
    await expect(wrapped()).resolves.toBe('ok');
    mode.fail = true;
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });

  it('a failed trial opens it again, for another halfOpenAfter', async () => {
    const { policy, circuitEvents, events } = setup({ failureThreshold: 2, halfOpenAfter: 5_000 });
    const { fn, mode, errors } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    await jest.advanceTimersByTimeAsync(5_000);

    const trial = await rejection(wrapped());
    expect(trial).toBe(errors[2]); // the trial's own error reaches the caller
    expect(fn).toHaveBeenCalledTimes(3);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(circuitEvents()).toEqual(['CIRCUIT_OPEN', 'CIRCUIT_HALF_OPEN', 'CIRCUIT_OPEN']);
    expect(events.filter((e) => e.type === EventType.CIRCUIT_OPEN).at(-1)?.error).toBe(errors[2]);

    // Open again for a whole halfOpenAfter from the failed trial.
    await jest.advanceTimersByTimeAsync(4_999);
    expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(3);
    mode.fail = false;
    await jest.advanceTimersByTimeAsync(1);
    await expect(wrapped()).resolves.toBe('ok');
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });

  it('with successThreshold 2, needs two successful trials to close', async () => {
    const { policy, circuitEvents } = setup({ failureThreshold: 1, halfOpenAfter: '1s', successThreshold: 2 });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
    mode.fail = false;
    await jest.advanceTimersByTimeAsync(1_000);

    await expect(wrapped()).resolves.toBe('ok');
    expect(wrapped.circuitBreaker?.state).toBe('half-open');
    expect(circuitEvents()).toEqual(['CIRCUIT_OPEN', 'CIRCUIT_HALF_OPEN']);

    await expect(wrapped()).resolves.toBe('ok');
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(circuitEvents()).toEqual(['CIRCUIT_OPEN', 'CIRCUIT_HALF_OPEN', 'CIRCUIT_CLOSED']);
  });

  it('with successThreshold 2, a failure after one good trial opens it again', async () => {
    const { policy } = setup({ failureThreshold: 1, halfOpenAfter: '1s', successThreshold: 2 });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    mode.fail = false;
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(wrapped()).resolves.toBe('ok');
    mode.fail = true;
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('circuit breaker: sliding window', () => {
  const window = { failureRateThreshold: 0.5, windowSize: 10, minimumCalls: 4, halfOpenAfter: '10s' };

  it('does not open before minimumCalls, however many of them failed', async () => {
    const { policy } = setup(window);
    const { fn } = switchable();
    const wrapped = policy(fn);
    for (let i = 0; i < 3; i++) {
      await rejection(wrapped());
      expect(wrapped.circuitBreaker?.state).toBe('closed'); // 100 % failures, but fewer than 4 calls
    }
    await rejection(wrapped()); // the 4th call reaches minimumCalls
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('opens at the call that brings the failure rate to the threshold', async () => {
    const { policy } = setup(window);
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    const run = async (fail: boolean) => {
      mode.fail = fail;
      return outcome(wrapped());
    };
    // S S F S: 1 of 4 failed (25 %)
    await run(false);
    await run(false);
    await run(true);
    await run(false);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await run(true); // 2 of 5 (40 %)
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await run(true); // 3 of 6: 50 %, "at least" the threshold
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(fn).toHaveBeenCalledTimes(6);
  });

  it('forgets calls that slid out of the window', async () => {
    const { policy } = setup({ failureRateThreshold: 0.5, windowSize: 4, minimumCalls: 4 });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    const run = async (fail: boolean) => {
      mode.fail = fail;
      return outcome(wrapped());
    };
    // F S S S: 1 of 4; then F: the window is S S S F (the first F slid out), 1 of 4 again.
    await run(true);
    await run(false);
    await run(false);
    await run(false);
    await run(true);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    // F: S S F F, 2 of 4 = 50 %
    await run(true);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(fn).toHaveBeenCalledTimes(6);
  });

  it('accepts failureRateThreshold 1 (open only when every call of the window failed)', async () => {
    const { policy } = setup({ failureRateThreshold: 1, windowSize: 3, minimumCalls: 3 });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    mode.fail = false;
    await wrapped();
    mode.fail = true;
    await rejection(wrapped());
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed'); // S F F
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open'); // F F F
  });

  it('refuses a failure rate outside (0, 1]', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ circuitBreaker: { failureRateThreshold: 0 } })).toThrow(RangeError);
    expect(() => registry.resilient({ circuitBreaker: { failureRateThreshold: 1.5 } })).toThrow(/failureRateThreshold/);
    expect(() => registry.resilient({ circuitBreaker: { failureThreshold: 0 } })).toThrow(/circuitBreaker\.failureThreshold/);
  });

  it('refuses a minimumCalls above windowSize (it could never be reached)', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ circuitBreaker: { failureRateThreshold: 0.5, windowSize: 10, minimumCalls: 20 } })).toThrow(
      new RangeError('`circuitBreaker.minimumCalls` (20) must not exceed `circuitBreaker.windowSize` (10): the window never holds more calls'),
    );
    expect(() => registry.resilient({ circuitBreaker: { failureRateThreshold: 0.5, minimumCalls: 21 } })).toThrow(/\(21\) must not exceed `circuitBreaker.windowSize` \(20\)/);
    expect(registry.resilient({ circuitBreaker: { failureRateThreshold: 0.5, windowSize: 10, minimumCalls: 10 } })).toBeInstanceOf(Function);
  });
});

describe('circuit breaker: which errors count', () => {
  it('errorTypes: only the listed errors count as failures', async () => {
    const { policy } = setup({ failureThreshold: 2, errorTypes: [Boom] });
    let next: () => Error = () => new TypeError('bad input');
    const fn = jest.fn(async () => {
      throw next();
    });
    const wrapped = policy(fn);
    for (let i = 0; i < 5; i++) expect(await rejection(wrapped())).toBeInstanceOf(TypeError);
    expect(wrapped.circuitBreaker?.state).toBe('closed');

    next = () => new Boom();
    expect(await rejection(wrapped())).toBeInstanceOf(Boom);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(await rejection(wrapped())).toBeInstanceOf(Boom);
    expect(wrapped.circuitBreaker?.state).toBe('open');
  });

  it('errorTypes takes predicates too', async () => {
    const { policy } = setup({ failureThreshold: 1, errorTypes: [(e) => (e as { status?: number }).status === 503] });
    const wrapped = policy(async (status: number) => {
      throw Object.assign(new Error(`HTTP ${status}`), { status });
    });
    await rejection(wrapped(404));
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await rejection(wrapped(503));
    expect(wrapped.circuitBreaker?.state).toBe('open');
  });

  it('ignoreOn: those errors never count and reach the caller as they are', async () => {
    const { policy, events } = setup({ failureThreshold: 2, ignoreOn: [NotFound] });
    const notFound = new NotFound();
    const fn = jest.fn(async () => {
      throw notFound;
    });
    const wrapped = policy(fn);
    for (let i = 0; i < 6; i++) expect(await rejection(wrapped())).toBe(notFound);
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(fn).toHaveBeenCalledTimes(6);
    expect(events.some((e) => e.type === EventType.CIRCUIT_OPEN)).toBe(false);
  });

  it('ignoreOn wins over errorTypes', async () => {
    const { policy } = setup({ failureThreshold: 1, errorTypes: [Error], ignoreOn: [(e) => e instanceof NotFound] });
    const wrapped = policy(async () => {
      throw new NotFound();
    });
    await rejection(wrapped());
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });
});

describe('circuit breaker: slow calls', () => {
  it('a slow success returns its value, emits SLOW_CALL and counts as a failure', async () => {
    const { policy, events, registry } = setup({ failureThreshold: 2, slowCallThreshold: '100ms', name: 'slowpoke' });
    const fn = jest.fn(async (ms: number) => {
      await sleep(ms);
      return `took ${ms}`;
    });
    const wrapped = policy(fn);

    // Fast enough: not counted, no SLOW_CALL.
    const fast = wrapped(100);
    await jest.advanceTimersByTimeAsync(100);
    await expect(fast).resolves.toBe('took 100');
    expect(events.some((e) => e.type === EventType.SLOW_CALL)).toBe(false);

    const first = wrapped(150);
    await jest.advanceTimersByTimeAsync(150);
    await expect(first).resolves.toBe('took 150');
    const slow = events.filter((e) => e.type === EventType.SLOW_CALL);
    expect(slow).toHaveLength(1);
    expect(slow[0]?.durationMs).toBeGreaterThanOrEqual(150);
    expect(wrapped.circuitBreaker?.state).toBe('closed');

    const second = wrapped(250);
    await jest.advanceTimersByTimeAsync(250);
    await expect(second).resolves.toBe('took 250');
    expect(events.filter((e) => e.type === EventType.SLOW_CALL)).toHaveLength(2);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(registry.health().slowpoke).toEqual({ state: 'open', lastFailure: { value: 'took 250' } });
    // The slow results were the caller's: SUCCESS, not FAILURE.
    expect(events.filter((e) => e.type === EventType.SUCCESS)).toHaveLength(3);

    expect(isCircuitOpenError(await rejection(wrapped(1)))).toBe(true);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('a fast success between slow calls resets the consecutive count', async () => {
    const { policy } = setup({ failureThreshold: 2, slowCallThreshold: 100 });
    const wrapped = policy(async (ms: number) => {
      await sleep(ms);
      return ms;
    });
    for (const ms of [200, 10, 200, 10]) {
      const call = wrapped(ms);
      await jest.advanceTimersByTimeAsync(ms);
      await expect(call).resolves.toBe(ms);
    }
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });
});

describe('circuit breaker with retry inside', () => {
  it('stops retrying once the breaker opens, and the caller gets CircuitOpenError', async () => {
    const { policy, types } = setup(
      { failureThreshold: 2, halfOpenAfter: '1m' },
      { retry: { maxAttempts: 5, delay: 100, backoffFactor: 1, jitter: false } },
    );
    const { fn } = switchable();
    const wrapped = policy(fn);

    const call = track(wrapped());
    // Attempts at 0 and 100 ms fail and open the circuit; the retry due at 200 ms meets the open circuit.
    await jest.advanceTimersByTimeAsync(200);
    expect(call.settled).toBe(true);
    const result = await call.outcome;
    expect(result.ok).toBe(false);
    expect(isCircuitOpenError(!result.ok && result.error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(2); // 5 attempts allowed, but the breaker opened after 2
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(types().filter((t) => t === 'RETRY')).toHaveLength(2); // no retry after the rejection
    expect(types()).toContain('CIRCUIT_OPEN');
    expect(wrapped.circuitBreaker?.state).toBe('open');
  });

  it('records every attempt: retries that succeed reset the count, retries that fail add to it', async () => {
    const { policy } = setup({ failureThreshold: 3 }, { retry: { maxAttempts: 2, delay: 10, jitter: false } });
    let calls = 0;
    // Fails every attempt of the first call (2 failures), then the first attempt of the second call (3rd).
    const wrapped = policy(async () => {
      calls++;
      if (calls <= 3) throw new Boom(`attempt ${calls}`);
      return 'ok';
    });
    const first = outcome(wrapped());
    await jest.advanceTimersByTimeAsync(100);
    expect((await first).ok).toBe(false);
    expect(wrapped.circuitBreaker?.state).toBe('closed');

    const second = outcome(wrapped());
    await jest.advanceTimersByTimeAsync(100);
    // The 3rd consecutive failure opened the circuit, so the retry that would have succeeded never ran.
    const result = await second;
    expect(!result.ok && isCircuitOpenError(result.error)).toBe(true);
    expect(calls).toBe(3);
  });
});

describe('circuit breaker: isolate and reset', () => {
  it('isolate() rejects every call with an isolated CircuitOpenError until reset()', async () => {
    const { policy, registry } = setup({ failureThreshold: 5, halfOpenAfter: '1s' });
    const global: ResilienceEvent[] = [];
    registry.on('*', (e) => global.push(e));
    const { fn, mode } = switchable();
    mode.fail = false;
    const wrapped = policy(fn);

    wrapped.circuitBreaker?.isolate();
    expect(wrapped.circuitBreaker?.state).toBe('isolated');
    for (let i = 0; i < 3; i++) {
      const error = await rejection(wrapped());
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN', isolated: true, retryAfterMs: undefined });
      await jest.advanceTimersByTimeAsync(60_000); // an isolated circuit never half-opens
    }
    expect(fn).not.toHaveBeenCalled();
    expect(global.find((e) => e.type === EventType.CIRCUIT_OPEN)).toMatchObject({ isolated: true });

    wrapped.circuitBreaker?.reset();
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await expect(wrapped()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(global.at(-2)?.type).toBe(EventType.CIRCUIT_CLOSED);
  });

  it('isolate() twice needs one reset() only', async () => {
    const { policy } = setup({});
    const wrapped = policy(async () => 'ok');
    wrapped.circuitBreaker?.isolate();
    wrapped.circuitBreaker?.isolate();
    wrapped.circuitBreaker?.reset();
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await expect(wrapped()).resolves.toBe('ok');
  });

  it('reset() closes an open circuit at once, and the failure count starts from zero', async () => {
    const { policy } = setup({ failureThreshold: 3, halfOpenAfter: '1h' });
    const { fn, mode } = switchable();
    const wrapped = policy(fn);
    for (let i = 0; i < 3; i++) await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');

    wrapped.circuitBreaker?.reset();
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    // One failure after a reset is one failure, not the 4th of a streak.
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
    mode.fail = false;
    wrapped.circuitBreaker?.reset();
    await expect(wrapped()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(7);
  });

  it('reset() of a sliding-window breaker forgets the window', async () => {
    const { policy } = setup({ failureRateThreshold: 0.5, windowSize: 4, minimumCalls: 2 });
    const { fn } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
    wrapped.circuitBreaker?.reset();
    await rejection(wrapped()); // 1 call in a fresh window: below minimumCalls
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });

  it('reset() of a closed circuit changes nothing', async () => {
    const { policy, circuitEvents } = setup({ failureThreshold: 2 });
    const { fn } = switchable();
    const wrapped = policy(fn);
    await rejection(wrapped());
    wrapped.circuitBreaker?.reset();
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(circuitEvents()).toEqual([]);
  });
});

describe('circuit breaker: state and serialisation', () => {
  it('state reads closed, open, half-open and isolated', async () => {
    const { policy } = setup({ failureThreshold: 1, halfOpenAfter: 1_000 });
    let release!: () => void;
    let fail = true;
    const wrapped = policy(async () => {
      if (fail) throw new Boom();
      await new Promise<void>((resolve) => (release = resolve));
      return 'ok';
    });
    const breaker = wrapped.circuitBreaker;
    expect(breaker?.state).toBe('closed');
    await rejection(wrapped());
    expect(breaker?.state).toBe('open');
    await jest.advanceTimersByTimeAsync(1_000);
    fail = false;
    const trial = wrapped();
    await jest.advanceTimersByTimeAsync(0);
    expect(breaker?.state).toBe('half-open'); // while the trial runs
    release();
    await expect(trial).resolves.toBe('ok');
    expect(breaker?.state).toBe('closed');
    breaker?.isolate();
    expect(breaker?.state).toBe('isolated');
  });

  it('toJSON() round-trips: a new pipeline with initialState starts open and half-opens on time', async () => {
    const first = setup({ failureThreshold: 1, halfOpenAfter: '10s' });
    const wrapped = first.policy(async () => {
      throw new Boom();
    });
    await rejection(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('open');
    await jest.advanceTimersByTimeAsync(4_000);
    // Saved as JSON text, as a serverless function would keep it between invocations.
    const saved: unknown = JSON.parse(JSON.stringify(wrapped.circuitBreaker));

    const second = setup({ failureThreshold: 1, halfOpenAfter: '10s', initialState: saved });
    const fn = jest.fn(async () => 'ok');
    const restored = second.policy(fn);
    expect(restored.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(await rejection(restored()))).toBe(true);
    expect(fn).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(5_999); // 9.999 s since it opened
    expect(isCircuitOpenError(await rejection(restored()))).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    await expect(restored()).resolves.toBe('ok');
    expect(restored.circuitBreaker?.state).toBe('closed');
    expect(second.circuitEvents()).toEqual(['CIRCUIT_HALF_OPEN', 'CIRCUIT_CLOSED']);
  });

  it('toJSON() of a closed breaker keeps its failure count', async () => {
    const first = setup({ failureThreshold: 3 });
    const wrapped = first.policy(async () => {
      throw new Boom();
    });
    await rejection(wrapped());
    await rejection(wrapped());
    const saved: unknown = JSON.parse(JSON.stringify(wrapped.circuitBreaker?.toJSON()));

    const second = setup({ failureThreshold: 3, initialState: saved });
    const restored = second.policy(async () => {
      throw new Boom();
    });
    expect(restored.circuitBreaker?.state).toBe('closed');
    await rejection(restored()); // the 3rd consecutive failure, counting the saved two
    expect(restored.circuitBreaker?.state).toBe('open');
  });
});

describe('circuit breaker: named and shared', () => {
  it('a named breaker is shared: failures through one pipeline open it for the other', async () => {
    const registry = new ResilienceRegistry();
    const charge = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 2, halfOpenAfter: '30s' } })(async () => {
      throw new Boom('card service down');
    });
    const refundFn = jest.fn(async () => 'refunded');
    const refund = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 2, halfOpenAfter: '30s' } })(refundFn);

    expect(refund.circuitBreaker).toBe(charge.circuitBreaker);
    expect(registry.breaker('payments')).toBe(charge.circuitBreaker);
    await rejection(charge());
    await rejection(charge());
    const error = await rejection(refund());
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error).toMatchObject({ functionName: 'mockConstructor' });
    expect(refundFn).not.toHaveBeenCalled();

    // One trial through either pipeline closes it for both.
    await jest.advanceTimersByTimeAsync(30_000);
    await expect(refund()).resolves.toBe('refunded');
    expect(charge.circuitBreaker?.state).toBe('closed');
  });

  it('unnamed breakers are not shared', async () => {
    const registry = new ResilienceRegistry();
    const a = registry.resilient({ circuitBreaker: { failureThreshold: 1 } })(async () => {
      throw new Boom();
    });
    const b = registry.resilient({ circuitBreaker: { failureThreshold: 1 } })(async () => 'b');
    await rejection(a());
    expect(a.circuitBreaker?.state).toBe('open');
    expect(b.circuitBreaker).not.toBe(a.circuitBreaker);
    await expect(b()).resolves.toBe('b');
    expect(registry.health()).toEqual({});
  });

  it('registry.health() lists every named breaker with its state and last failure', async () => {
    const registry = new ResilienceRegistry();
    const down = new Boom('payments down');
    const pay = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 1 } })(async () => {
      throw down;
    });
    // A pipeline's name names its breaker too.
    const search = registry.resilient({ name: 'search', circuitBreaker: { failureThreshold: 5 } })(async () => 'hits');
    expect(registry.health()).toEqual({
      payments: { state: 'closed', lastFailure: undefined },
      search: { state: 'closed', lastFailure: undefined },
    });

    await rejection(pay());
    await search();
    expect(registry.health()).toEqual({
      payments: { state: 'open', lastFailure: { error: down } },
      search: { state: 'closed', lastFailure: undefined },
    });
    search.circuitBreaker?.isolate();
    expect(registry.health().search?.state).toBe('isolated');
  });
});

describe('circuit breaker with a fallback', () => {
  it('the fallback answers CircuitOpenError rejections, with FALLBACK_USED', async () => {
    const { policy, events } = setup(
      { failureThreshold: 2, halfOpenAfter: '10s' },
      { fallback: { handler: (error: unknown) => (isCircuitOpenError(error) ? 'from fallback' : 'failed'), fallbackOn: [Boom, CircuitOpenError] } },
    );
    const { fn } = switchable();
    const wrapped = policy(fn);
    await expect(wrapped()).resolves.toBe('failed');
    await expect(wrapped()).resolves.toBe('failed');
    expect(wrapped.circuitBreaker?.state).toBe('open');

    await expect(wrapped()).resolves.toBe('from fallback');
    expect(fn).toHaveBeenCalledTimes(2);
    const used = events.filter((e) => e.type === EventType.FALLBACK_USED);
    expect(used).toHaveLength(3);
    expect(used[2]?.error).toBeInstanceOf(CircuitOpenError);
    expect(events.some((e) => e.type === EventType.FAILURE)).toBe(false);
  });
});

describe('circuit breaker: reset and restore edge cases', () => {
  it('reset() of an open circuit reports CIRCUIT_CLOSED only (no isolation along the way)', async () => {
    const { policy, registry } = setup({ failureThreshold: 1 });
    const global: ResilienceEvent[] = [];
    const wrapped = policy(async () => {
      throw new Boom();
    });
    await rejection(wrapped());
    registry.on('*', (e) => global.push(e));
    wrapped.circuitBreaker?.reset();
    expect(global.map((e) => e.type)).toEqual(['CIRCUIT_CLOSED']);
  });

  it('an isolated breaker saved with toJSON() comes back isolated, and reset() closes it', async () => {
    const first = setup({});
    const wrapped = first.policy(async () => 'ok');
    wrapped.circuitBreaker?.isolate();
    const saved: unknown = JSON.parse(JSON.stringify(wrapped.circuitBreaker));

    const second = setup({ initialState: saved });
    const restored = second.policy(async () => 'ok');
    expect(restored.circuitBreaker?.state).toBe('isolated');
    expect(await rejection(restored())).toMatchObject({ isolated: true });
    restored.circuitBreaker?.reset();
    expect(restored.circuitBreaker?.state).toBe('closed');
    await expect(restored()).resolves.toBe('ok');
  });
});
