import { EventType, ResilienceRegistry, httpStatus, isClientHttpError, isTransientHttpError, presets } from './index';
import { recordedPipeline as setup } from '../test/recordedPipeline';

/** An error as HTTP clients throw them: a status on the error itself. */
function httpError(status: number, extra: object = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status }, extra);
}

/** An error whose `code` says what went wrong on the network, as Node's sockets throw them. */
function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

/** A promise's outcome, captured at once so that no rejection goes unhandled while timers advance. */
type Outcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

function outcome<V>(promise: Promise<V>): Promise<Outcome<V>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** A function that throws the given errors in turn, then returns 'ok'; records when each attempt ran. */
function flaky(...errors: unknown[]) {
  const t0 = Date.now();
  const startedAt: number[] = [];
  const fn = jest.fn(async () => {
    startedAt.push(Date.now() - t0);
    const error = errors[startedAt.length - 1];
    if (error !== undefined) throw error;
    return 'ok';
  });
  return { fn, startedAt };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('presets: plain option objects', () => {
  const names = ['httpApi', 'database', 'queue', 'llmApi'] as const;

  it('has the documented presets, each a plain object', () => {
    expect(Object.keys(presets).sort()).toEqual([...names].sort());
    for (const name of names) {
      const preset: object = presets[name];
      expect(Object.getPrototypeOf(preset)).toBe(Object.prototype);
      // Only keys resilient() knows, so spreading one never trips its unknown-option check.
      for (const key of Object.keys(preset)) {
        expect(['retry', 'timeout', 'circuitBreaker', 'bulkhead', 'rateLimiter', 'fallback', 'cache']).toContain(key);
      }
    }
  });

  it.each(names)('resilient() accepts %s as it is, and a function wrapped by it works', async (name) => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient(presets[name])(async (n: number) => n * 2);
    await expect(wrapped(21)).resolves.toBe(42);
  });

  it.each(names)('%s can be spread and overridden', async (name) => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async (n: number) => n);
    const wrapped = registry.resilient({ ...presets[name], cache: { ttl: '1m' }, name: `my-${name}` })(fn);
    await wrapped(1);
    await wrapped(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(registry.health()[`my-${name}`]?.state).toBe('closed');
  });

  it('cannot be changed by accident', () => {
    expect(Object.isFrozen(presets)).toBe(true);
    for (const name of names) expect(Object.isFrozen(presets[name])).toBe(true);
  });

  it('brings the layers it promises', () => {
    const registry = new ResilienceRegistry();
    const db = registry.resilient(presets.database)(async () => 1);
    expect(db.bulkhead).toMatchObject({ maxConcurrent: 20, maxQueue: 100 });
    expect(db.circuitBreaker?.state).toBe('closed');
    const llm = registry.resilient(presets.llmApi)(async () => 1);
    expect(llm.rateLimiter).toMatchObject({ maxCalls: 50, periodMs: 60_000, maxWaitMs: 30_000 });
    expect(llm.bulkhead).toMatchObject({ maxConcurrent: 8, maxQueue: 64 });
    const http = registry.resilient(presets.httpApi)(async () => 1);
    expect(http.rateLimiter).toBeUndefined();
    expect(http.bulkhead).toBeUndefined();
  });
});

describe('presets.httpApi', () => {
  it('retries a 503 and returns the result of the attempt that worked', async () => {
    const { policy, events } = setup(presets.httpApi);
    const { fn } = flaky(httpError(503), httpError(503));
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await call).toEqual({ ok: true, value: 'ok' });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(events.filter((e) => e.type === EventType.RETRY)).toHaveLength(2);
  });

  it('gives the caller the last 503 itself when its 3 attempts run out', async () => {
    const { policy, events } = setup(presets.httpApi);
    const last = httpError(503, { attempt: 3 });
    const { fn } = flaky(httpError(503), httpError(503), last);
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await call).toEqual({ ok: false, error: last });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(events.find((e) => e.type === EventType.RETRY_EXHAUSTED)).toMatchObject({ attempt: 3, error: last });
  });

  it('retries a 429, honouring its Retry-After header', async () => {
    const { policy } = setup(presets.httpApi);
    const { fn, startedAt } = flaky(httpError(429, { headers: { 'retry-after': '2' } }));
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(1_999);
    expect(fn).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(await call).toEqual({ ok: true, value: 'ok' });
    expect(startedAt).toEqual([0, 2_000]);
  });

  it('retries network errors (ECONNRESET) and a status read from statusCode or response.status', async () => {
    const { policy } = setup(presets.httpApi);
    const { fn } = flaky(networkError('ECONNRESET'), { statusCode: 502 }, { response: { status: 500 } });
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(1_000);
    // Only 3 attempts: the third error reaches the caller.
    expect(await call).toEqual({ ok: false, error: { response: { status: 500 } } });
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('does not retry a 404: it reaches the caller from the first attempt', async () => {
    const { policy, events } = setup(presets.httpApi);
    const notFound = httpError(404);
    const { fn } = flaky(notFound);
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await call).toEqual({ ok: false, error: notFound });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.type)).toEqual(['FAILURE']);
  });

  it('4xx answers never open its breaker', async () => {
    const { policy } = setup(presets.httpApi);
    const wrapped = policy(async () => {
      throw httpError(400);
    });
    for (let i = 0; i < 10; i++) await outcome(wrapped());
    expect(wrapped.circuitBreaker?.state).toBe('closed');
  });

  it('does not retry an error that is not transient', async () => {
    const { policy } = setup(presets.httpApi);
    const bug = new TypeError('cannot read properties of undefined');
    const { fn } = flaky(bug);
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await call).toEqual({ ok: false, error: bug });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('presets.llmApi', () => {
  it('retries a 529 (overloaded) after the Retry-After it names, beyond the backoff', async () => {
    const { policy } = setup(presets.llmApi);
    const { fn, startedAt } = flaky(httpError(529, { response: { headers: { 'Retry-After': '20' } } }));
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(20_000);
    expect(await call).toEqual({ ok: true, value: 'ok' });
    expect(startedAt).toEqual([0, 20_000]);
  });

  it('does not retry a 401', async () => {
    const { policy } = setup(presets.llmApi);
    const { fn } = flaky(httpError(401));
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(120_000);
    expect((await call).ok).toBe(false);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('presets.database', () => {
  it('tries a failed query twice in all', async () => {
    const { policy } = setup(presets.database);
    const { fn } = flaky(new Error('deadlock'), new Error('deadlock'));
    const call = outcome(policy(fn)());
    await jest.advanceTimersByTimeAsync(1_000);
    expect((await call).ok).toBe(false);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('httpStatus', () => {
  it('reads status, statusCode, or response.status', () => {
    expect(httpStatus({ status: 503 })).toBe(503);
    expect(httpStatus(httpError(404))).toBe(404);
    expect(httpStatus({ statusCode: 429 })).toBe(429);
    expect(httpStatus({ response: { status: 500 } })).toBe(500);
    expect(httpStatus({ status: 418, statusCode: 500, response: { status: 502 } })).toBe(418);
  });

  it('is undefined when there is no numeric status', () => {
    expect(httpStatus(new Error('plain'))).toBeUndefined();
    expect(httpStatus({ status: '503' })).toBeUndefined();
    expect(httpStatus({ response: {} })).toBeUndefined();
    expect(httpStatus({ response: null })).toBeUndefined();
    expect(httpStatus(null)).toBeUndefined();
    expect(httpStatus(undefined)).toBeUndefined();
    expect(httpStatus(503)).toBeUndefined();
    expect(httpStatus('HTTP 503')).toBeUndefined();
  });
});

describe('isTransientHttpError', () => {
  it.each([408, 429, 500, 502, 503, 504, 529])('is true for status %i', (status) => {
    expect(isTransientHttpError({ status })).toBe(true);
    expect(isTransientHttpError({ statusCode: status })).toBe(true);
    expect(isTransientHttpError({ response: { status } })).toBe(true);
  });

  it.each([200, 301, 400, 401, 403, 404, 409, 422])('is false for status %i', (status) => {
    expect(isTransientHttpError({ status })).toBe(false);
    expect(isTransientHttpError({ response: { status } })).toBe(false);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'])(
    'is true for the network error code %s, on the error or its cause',
    (code) => {
      expect(isTransientHttpError(networkError(code))).toBe(true);
      // fetch() throws TypeError('fetch failed') with the socket error as its cause.
      expect(isTransientHttpError(new TypeError('fetch failed', { cause: networkError(code) }))).toBe(true);
    },
  );

  it('is false for other codes, plain errors and non-errors', () => {
    expect(isTransientHttpError(networkError('EACCES'))).toBe(false);
    expect(isTransientHttpError(networkError('ERR_INVALID_URL'))).toBe(false);
    expect(isTransientHttpError({ code: 503 })).toBe(false);
    expect(isTransientHttpError(new Error('boom'))).toBe(false);
    expect(isTransientHttpError(null)).toBe(false);
    expect(isTransientHttpError(undefined)).toBe(false);
    expect(isTransientHttpError('ECONNRESET')).toBe(false);
  });

  it('trusts a status over a network code', () => {
    expect(isTransientHttpError({ status: 404, code: 'ECONNRESET' })).toBe(false);
    expect(isTransientHttpError({ status: 503, code: 'EACCES' })).toBe(true);
  });
});

describe('isClientHttpError', () => {
  it.each([400, 401, 403, 404, 409, 422, 499])('is true for status %i', (status) => {
    expect(isClientHttpError({ status })).toBe(true);
    expect(isClientHttpError({ statusCode: status })).toBe(true);
    expect(isClientHttpError({ response: { status } })).toBe(true);
  });

  it.each([200, 302, 399, 408, 429, 500, 503])('is false for status %i', (status) => {
    expect(isClientHttpError({ status })).toBe(false);
  });

  it('is false without a status, network errors included', () => {
    expect(isClientHttpError(networkError('ECONNRESET'))).toBe(false);
    expect(isClientHttpError(new Error('boom'))).toBe(false);
    expect(isClientHttpError(null)).toBe(false);
  });
});
