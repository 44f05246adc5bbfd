// Composition of resilient(): the order of the layers, the cache in front of them (a hit runs nothing
// else), errors never cached, single-flight through every layer, fail-safe, and the forms of `cache`.
import { isBulkheadFullError, isCircuitOpenError, isRateLimitedError, isTimeoutError, ResilienceRegistry } from './index';
import type { ResilienceEvent } from './index';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function defer<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** The rejection of `promise`; fails the test when it resolves. Attach it before advancing timers. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    return error;
  }
}

/** Whether `promise` has settled after the microtasks queued so far have run (no timer moves). */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return settled;
}

function recorder() {
  const events: ResilienceEvent[] = [];
  return { events, types: () => events.map((e) => e.type), onEvent: (e: ResilienceEvent) => void events.push(e) };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('order of the layers', () => {
  it('a miss that retries, exhausts and falls back emits exactly CACHE_MISS, RETRY, RETRY_EXHAUSTED, FALLBACK_USED', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async (id: number) => {
      throw new Error(`down ${id}`);
    });
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: 'fallback',
      onEvent: log.onEvent,
    })(fn as (id: number) => Promise<string>);

    const call = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(call).resolves.toBe('fallback');
    expect(log.types()).toEqual(['CACHE_MISS', 'RETRY', 'RETRY_EXHAUSTED', 'FALLBACK_USED']);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('a fallback value is not cached: the next call misses again and runs fn again', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async (_id: number): Promise<string> => {
      throw new Error('down');
    });
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: 'fallback',
      onEvent: log.onEvent,
    })(fn);

    const first = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(first).resolves.toBe('fallback');
    expect(wrapped.cache?.scope.size).toBe(0);

    log.events.length = 0;
    const second = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(second).resolves.toBe('fallback');
    expect(log.types()).toEqual(['CACHE_MISS', 'RETRY', 'RETRY_EXHAUSTED', 'FALLBACK_USED']);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ hits: 0, misses: 2, size: 0 });
  });

  it('with cacheFallback: true the fallback value is stored: the next call is a CACHE_HIT and fn does not run', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async (_id: number): Promise<string> => {
      throw new Error('down');
    });
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: { handler: 'fallback', cacheFallback: true },
      onEvent: log.onEvent,
    })(fn);

    const first = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(first).resolves.toBe('fallback');

    log.events.length = 0;
    await expect(wrapped(1)).resolves.toBe('fallback');
    expect(log.types()).toEqual(['CACHE_HIT']);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('retry is inside the rate limiter: a call that retries takes one token', async () => {
    const registry = new ResilienceRegistry();
    let attempts = 0;
    const wrapped = registry.resilient({
      rateLimiter: { maxCalls: 1, period: '1h' },
      retry: { maxAttempts: 3, delay: 10, jitter: false },
    })(async () => {
      attempts++;
      if (attempts < 3) throw new Error(`attempt ${attempts}`);
      return 'ok';
    });

    const call = wrapped();
    await jest.advanceTimersByTimeAsync(30);
    await expect(call).resolves.toBe('ok');
    expect(attempts).toBe(3);
    // The one token is gone: the next call is rejected without running.
    const error = await rejection(wrapped());
    expect(isRateLimitedError(error)).toBe(true);
    expect(attempts).toBe(3);
  });

  it('retry is inside the bulkhead: a call keeps its one slot across its attempts', async () => {
    const registry = new ResilienceRegistry();
    let attempts = 0;
    const wrapped = registry.resilient({
      bulkhead: { maxConcurrent: 1, maxQueue: 0 },
      retry: { maxAttempts: 2, delay: 100, jitter: false },
    })(async (name: string) => {
      attempts++;
      if (attempts === 1) throw new Error('first attempt fails');
      return name;
    });

    const first = wrapped('first');
    await jest.advanceTimersByTimeAsync(50); // the first call sleeps before its retry, holding its slot
    expect(wrapped.bulkhead?.executionSlots).toBe(0);
    const error = await rejection(wrapped('second'));
    expect(isBulkheadFullError(error)).toBe(true);
    await jest.advanceTimersByTimeAsync(50);
    await expect(first).resolves.toBe('first');
    expect(wrapped.bulkhead?.executionSlots).toBe(1);
  });

  it('the timeout is per attempt, inside retry: a slow first attempt times out and the retry answers', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    let attempts = 0;
    const wrapped = registry.resilient({
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      timeout: { after: 100 },
      onEvent: log.onEvent,
    })(async () => {
      attempts++;
      if (attempts === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
      return `attempt ${attempts}`;
    });

    const call = wrapped();
    await jest.advanceTimersByTimeAsync(110);
    await expect(call).resolves.toBe('attempt 2');
    expect(log.types()).toEqual(['TIMEOUT', 'RETRY', 'SUCCESS']);
    expect(isTimeoutError(log.events[1]?.error)).toBe(true);
    expect(log.events[2]?.attempt).toBe(2);
  });

  it('breaker admission comes before the rate limiter and the bulkhead: an open circuit costs no token', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async () => 'ok');
    const wrapped = registry.resilient({
      circuitBreaker: { failureThreshold: 1 },
      rateLimiter: { maxCalls: 1, period: '1h' },
      bulkhead: { maxConcurrent: 1 },
      onEvent: log.onEvent,
    })(fn);

    wrapped.circuitBreaker?.isolate();
    for (let i = 0; i < 3; i++) expect(isCircuitOpenError(await rejection(wrapped()))).toBe(true);
    expect(wrapped.rateLimiter?.availableTokens).toBe(1);
    expect(log.types()).toEqual(['FAILURE', 'FAILURE', 'FAILURE']);

    wrapped.circuitBreaker?.reset();
    await expect(wrapped()).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('the breaker records every attempt: once it opens, the retries stop', async () => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async () => {
      throw new Error('down');
    });
    const wrapped = registry.resilient({
      retry: { maxAttempts: 5, delay: 10, jitter: false },
      circuitBreaker: { failureThreshold: 2, halfOpenAfter: '1m' },
    })(fn);

    const call = rejection(wrapped());
    await jest.advanceTimersByTimeAsync(1000);
    const error = await call;
    expect(fn).toHaveBeenCalledTimes(2);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect(isCircuitOpenError(error)).toBe(true);
  });
});

describe('a cache hit runs no inner layer', () => {
  it('a hit takes no rate-limit token', async () => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async (id: number) => `value ${id}`);
    const wrapped = registry.resilient({
      cache: { ttl: '1h' },
      rateLimiter: { maxCalls: 2, period: '1h' },
    })(fn);

    await expect(wrapped(1)).resolves.toBe('value 1'); // miss: the first token
    for (let i = 0; i < 50; i++) await expect(wrapped(1)).resolves.toBe('value 1');
    expect(fn).toHaveBeenCalledTimes(1);
    // The second token is still there for a miss, and then none is left.
    await expect(wrapped(2)).resolves.toBe('value 2');
    const error = await rejection(wrapped(3));
    expect(isRateLimitedError(error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('a hit needs no bulkhead slot', async () => {
    const registry = new ResilienceRegistry();
    const gate = defer();
    const wrapped = registry.resilient({
      cache: { ttl: '1h' },
      bulkhead: { maxConcurrent: 1, maxQueue: 0 },
    })(async (id: number) => {
      if (id === 2) await gate.promise;
      return `value ${id}`;
    });

    await wrapped(1);
    const holding = wrapped(2); // takes the only slot until the gate opens
    await Promise.resolve();
    expect(wrapped.bulkhead?.executionSlots).toBe(0);

    const hit = wrapped(1);
    expect(await settledNow(hit)).toBe(true);
    await expect(hit).resolves.toBe('value 1');
    expect(isBulkheadFullError(await rejection(wrapped(3)))).toBe(true);

    gate.resolve();
    await expect(holding).resolves.toBe('value 2');
  });

  it('a hit answers while the breaker is isolated; a miss is rejected', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async (id: number) => `value ${id}`);
    const wrapped = registry.resilient({
      cache: { ttl: '1h' },
      circuitBreaker: { failureThreshold: 1 },
      onEvent: log.onEvent,
    })(fn);

    await wrapped(1);
    wrapped.circuitBreaker?.isolate();
    expect(wrapped.circuitBreaker?.state).toBe('isolated');
    log.events.length = 0;

    await expect(wrapped(1)).resolves.toBe('value 1');
    expect(log.types()).toEqual(['CACHE_HIT']);
    const error = await rejection(wrapped(2));
    expect(isCircuitOpenError(error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('with every layer configured, hits run neither fn nor any layer: only CACHE_HIT events, no SUCCESS', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const fn = jest.fn(async (id: number) => ({ id }));
    const wrapped = registry.resilient({
      cache: { ttl: '1h' },
      retry: { maxAttempts: 3 },
      circuitBreaker: { failureThreshold: 1 },
      timeout: '1s',
      bulkhead: { maxConcurrent: 1 },
      rateLimiter: { maxCalls: 1, period: '1h' },
      fallback: { id: -1 },
      onEvent: log.onEvent,
    })(fn);

    const value = await wrapped(7);
    expect(log.types()).toEqual(['CACHE_MISS', 'SUCCESS']);
    log.events.length = 0;
    for (let i = 0; i < 10; i++) expect(await wrapped(7)).toBe(value);
    expect(log.types()).toEqual(Array(10).fill('CACHE_HIT'));
    expect(fn).toHaveBeenCalledTimes(1);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ hits: 10, misses: 1, loads: 1 });
  });
});

describe('errors are never cached', () => {
  it('a failing call is not stored: the next call runs fn again and caches its success', async () => {
    const registry = new ResilienceRegistry();
    const failure = new Error('first call fails');
    const fn = jest.fn(async (id: number) => `value ${id}`).mockRejectedValueOnce(failure);
    const wrapped = registry.resilient({ cache: { ttl: '1h' } })(fn);

    expect(await rejection(wrapped(1))).toBe(failure);
    expect(wrapped.cache?.scope.size).toBe(0);
    await expect(wrapped(1)).resolves.toBe('value 1');
    await expect(wrapped(1)).resolves.toBe('value 1');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ hits: 1, misses: 2, size: 1, loadErrors: 1 });
  });

  it('when every retry fails, the last error reaches the caller and nothing is stored', async () => {
    const registry = new ResilienceRegistry();
    let attempt = 0;
    const wrapped = registry.resilient({
      cache: { ttl: '1h' },
      retry: { maxAttempts: 3, delay: 10, jitter: false },
    })(async (id: number) => {
      attempt++;
      if (attempt <= 3) throw new Error(`attempt ${attempt}`);
      return `value ${id}`;
    });

    const first = rejection(wrapped(1));
    await jest.advanceTimersByTimeAsync(100);
    expect(await first).toEqual(new Error('attempt 3'));
    expect(wrapped.cache?.scope.size).toBe(0);
    await expect(wrapped(1)).resolves.toBe('value 1');
    expect(attempt).toBe(4);
  });
});

describe('stampede through the whole pipeline', () => {
  it('1,000 concurrent cold calls whose first attempt fails run fn twice (one load, one retry) and all get the value', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    let runs = 0;
    const fn = jest.fn(async (id: number) => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (runs === 1) throw new Error('cold start');
      return { id };
    });
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 3, delay: 10, jitter: false },
      circuitBreaker: { failureThreshold: 5 },
      timeout: '1s',
      onEvent: log.onEvent,
    })(fn);

    const calls = Array.from({ length: 1000 }, () => wrapped(42));
    await jest.advanceTimersByTimeAsync(100);
    const values = await Promise.all(calls);

    expect(fn).toHaveBeenCalledTimes(2);
    expect(values).toHaveLength(1000);
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toEqual({ id: 42 });
    const types = log.types();
    expect(types.filter((t) => t === 'CACHE_MISS')).toHaveLength(1000);
    expect(types.filter((t) => t !== 'CACHE_MISS')).toEqual(['RETRY', 'SUCCESS']);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ misses: 1000, loads: 1, size: 1 });
  });
});

describe('fail-safe from the cache', () => {
  /** A function that succeeds on its first run (`v1`) and fails on every later run. */
  function failingAfterFirst() {
    let runs = 0;
    const errors: Error[] = [];
    const fn = async (id: number) => {
      runs++;
      if (runs === 1) return `v${id}`;
      const error = new Error(`run ${runs} fails`);
      errors.push(error);
      throw error;
    };
    return { fn, errors, runs: () => runs };
  }

  it('after expiry, when every attempt fails, the stale value is served (CACHE_STALE_HIT with the last error)', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const source = failingAfterFirst();
    const wrapped = registry.resilient({
      cache: { ttl: '1s', failSafe: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      onEvent: log.onEvent,
    })(source.fn);

    await expect(wrapped(1)).resolves.toBe('v1');
    await jest.advanceTimersByTimeAsync(1001); // stale now, inside the fail-safe window
    log.events.length = 0;

    const call = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(call).resolves.toBe('v1');
    expect(source.runs()).toBe(3); // one fresh load, then both attempts of the refresh
    const types = log.types();
    expect(types.slice(0, 3)).toEqual(['CACHE_MISS', 'RETRY', 'RETRY_EXHAUSTED']);
    expect(types[types.length - 1]).toBe('CACHE_STALE_HIT');
    const stale = log.events[log.events.length - 1] as ResilienceEvent & { reason?: string };
    expect(stale.error).toBe(source.errors[1]);
    expect(stale.reason).toBe('error');
    expect(stale.key).toBe(wrapped.cache?.keyFor(1));
    expect(wrapped.cache?.scope.stats().staleHits).toBe(1);
  });

  it('past the fail-safe window the error reaches the caller', async () => {
    const registry = new ResilienceRegistry();
    const source = failingAfterFirst();
    const wrapped = registry.resilient({
      cache: { ttl: '1s', failSafe: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
    })(source.fn);

    await wrapped(1);
    await jest.advanceTimersByTimeAsync(1000 + 60_000 + 1);
    const call = rejection(wrapped(1));
    await jest.advanceTimersByTimeAsync(10);
    expect(await call).toBe(source.errors[1]);
  });

  it('with a fallback too, the fallback answers first (it is part of the load), so the stale value is not served', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const source = failingAfterFirst();
    const wrapped = registry.resilient({
      cache: { ttl: '1s', failSafe: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: 'fallback',
      onEvent: log.onEvent,
    })(source.fn);

    await wrapped(1);
    await jest.advanceTimersByTimeAsync(1001);
    for (let round = 1; round <= 2; round++) {
      log.events.length = 0;
      const call = wrapped(1);
      await jest.advanceTimersByTimeAsync(10);
      await expect(call).resolves.toBe('fallback');
      expect(log.types()).toEqual(['CACHE_MISS', 'RETRY', 'RETRY_EXHAUSTED', 'FALLBACK_USED']);
    }
    // Each call ran the function again: the uncached fallback neither replaced nor throttled the stale entry.
    expect(source.runs()).toBe(5);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ staleHits: 0, size: 1 });
  });

  it('with a cached fallback, the fallback value replaces the stale one and is then a hit', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const source = failingAfterFirst();
    const wrapped = registry.resilient({
      cache: { ttl: '1s', failSafe: '1m' },
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      fallback: { handler: 'fallback', cacheFallback: true },
      onEvent: log.onEvent,
    })(source.fn);

    await wrapped(1);
    await jest.advanceTimersByTimeAsync(1001);
    const call = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await expect(call).resolves.toBe('fallback');
    log.events.length = 0;
    await expect(wrapped(1)).resolves.toBe('fallback');
    expect(log.types()).toEqual(['CACHE_HIT']);
    expect(source.runs()).toBe(3);
  });
});

describe('forms of the `cache` option', () => {
  it('an options object gives the function a scope of its own, with its stats and keys', async () => {
    const registry = new ResilienceRegistry();
    const log = recorder();
    const policy = registry.resilient({ cache: { maxSize: 10, ttl: '1m' }, onEvent: log.onEvent });
    const getUser = policy(async function getUser(id: number) {
      return `user ${id}`;
    });
    const getOrder = policy(async function getOrder(id: number) {
      return `order ${id}`;
    });

    await getUser(1);
    await getUser(1);
    await getUser(2);
    await expect(getOrder(1)).resolves.toBe('order 1');

    const scope = getUser.cache?.scope;
    expect(scope).toBeDefined();
    expect(scope).not.toBe(getOrder.cache?.scope);
    expect(scope?.stats()).toMatchObject({ hits: 1, misses: 2, size: 2, maxSize: 10 });
    expect(getOrder.cache?.scope.stats()).toMatchObject({ hits: 0, misses: 1, size: 1 });

    const key = getUser.cache?.keyFor(1);
    expect(typeof key).toBe('string');
    expect(key).not.toBe(getUser.cache?.keyFor(2));
    expect(key).not.toBe(getUser.cache?.keyFor('1' as unknown as number));
    expect(key).not.toBe(getOrder.cache?.keyFor(1));
    expect(log.events[0]).toMatchObject({ type: 'CACHE_MISS', key });
  });

  it('maxSize bounds the function scope exactly, evicting the least recently used entry', async () => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async (id: number) => id * 10);
    const wrapped = registry.resilient({ cache: { maxSize: 2, ttl: '1h' } })(fn);

    await wrapped(1);
    await wrapped(2);
    await wrapped(1); // 2 is now the least recently used
    await wrapped(3);
    expect(wrapped.cache?.scope.size).toBe(2);
    await wrapped(1);
    expect(fn).toHaveBeenCalledTimes(3);
    await wrapped(2);
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('a shared CacheScope: two functions share its LRU and stats, and their derived keys do not collide', async () => {
    const registry = new ResilienceRegistry();
    const shared = registry.cache.scope<string>('shared', { maxSize: 3, ttl: '1h' });
    const user = jest.fn(async (id: number) => `user ${id}`);
    const order = jest.fn(async (id: number) => `order ${id}`);
    const getUser = registry.resilient({ cache: shared })(Object.defineProperty(user, 'name', { value: 'getUser' }));
    const getOrder = registry.resilient({ cache: shared })(Object.defineProperty(order, 'name', { value: 'getOrder' }));

    expect(getUser.cache?.scope).toBe(shared);
    expect(getOrder.cache?.scope).toBe(shared);
    expect(getUser.cache?.keyFor(1)).not.toBe(getOrder.cache?.keyFor(1));

    await expect(getUser(1)).resolves.toBe('user 1');
    await expect(getOrder(1)).resolves.toBe('order 1');
    await expect(getUser(1)).resolves.toBe('user 1');
    await expect(getOrder(1)).resolves.toBe('order 1');
    expect(user).toHaveBeenCalledTimes(1);
    expect(order).toHaveBeenCalledTimes(1);
    expect(shared.stats()).toMatchObject({ hits: 2, misses: 2, size: 2 });

    // One LRU for both: order 1 is now the most recent, user 1 the least; two more entries evict it.
    await getOrder(2);
    await getOrder(3);
    expect(shared.size).toBe(3);
    await getUser(1);
    expect(user).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['cache', true, "`cache` must be cache options such as { ttl: '5m' }, or a CacheScope, got true"],
    ['retry', 3, '`retry` must be an options object such as { maxAttempts: 3 }, got 3'],
    ['circuitBreaker', true, '`circuitBreaker` must be an options object such as { failureThreshold: 5 }, got true'],
    ['bulkhead', 'x', '`bulkhead` must be an options object such as { maxConcurrent: 10 }, got "x"'],
    ['rateLimiter', null, "`rateLimiter` must be an options object such as { maxCalls: 100, period: '1s' }, got null"],
    ['retry', [], '`retry` must be an options object such as { maxAttempts: 3 }, got an array'],
  ])('refuses `%s: %p` (a layer is an object of settings, not a switch)', (layer, value, message) => {
    expect(() => new ResilienceRegistry().resilient({ [layer]: value })).toThrow(new TypeError(message));
  });

  it.each([
    [{ retyr: {} }, 'unknown resilient() option `retyr`: did you mean `retry`?'],
    [{ retry: { maxAttempt: 3 } }, 'unknown resilient() option `retry.maxAttempt`: did you mean `retry.maxAttempts`?'],
    [{ cache: { tll: '1m' } }, 'unknown resilient() option `cache.tll`: did you mean `cache.ttl`?'],
    [{ circuitBreaker: { halfOpenAfer: '1s' } }, 'unknown resilient() option `circuitBreaker.halfOpenAfer`: did you mean `circuitBreaker.halfOpenAfter`?'],
    [{ timeout: { after: '1s', perAttemp: false } }, 'unknown resilient() option `timeout.perAttemp`: did you mean `timeout.perAttempt`?'],
    [{ fallback: { handler: 0, fallbackOnn: [] } }, 'unknown resilient() option `fallback.fallbackOnn`: did you mean `fallback.fallbackOn`?'],
    [{ bulkhead: { maxConcurrent: 1, maxQueu: 1 } }, 'unknown resilient() option `bulkhead.maxQueu`: did you mean `bulkhead.maxQueue`?'],
    [{ rateLimiter: { maxCalls: 1, period: '1s', wait: '1s' } }, 'unknown resilient() option `rateLimiter.wait`: use one of maxCalls, period, maxWait'],
  ])('refuses the unknown option in %p, naming its full path', (options, message) => {
    expect(() => new ResilienceRegistry().resilient(options as never)).toThrow(new TypeError(message));
  });

  it('takes a fallback value that is an object of any shape, a timeout duration and a CacheScope unchecked', async () => {
    const registry = new ResilienceRegistry();
    const scope = registry.cache.scope<unknown>('listing');
    const list = registry.resilient({ cache: scope, timeout: '1s', fallback: { items: [] } })(async function listing(): Promise<unknown> {
      throw new Error('down');
    });
    await expect(list()).resolves.toEqual({ items: [] });
  });

  it('two functions with the same name cannot both derive keys in one shared scope', () => {
    const registry = new ResilienceRegistry();
    const shared = registry.cache.scope<number>('shared');
    const policy = registry.resilient({ cache: shared });
    policy(async function load(id: number) {
      return id;
    });
    expect(() =>
      policy(async function load(id: number) {
        return id + 1;
      }),
    ).toThrow(TypeError);
  });

  it('a key template fills the key from the object argument: other fields do not change it', async () => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async (query: { id: number; verbose?: boolean }) => `user ${query.id}`);
    const wrapped = registry.resilient({ cache: { key: 'user:{id}', ttl: '1h' } })(fn);

    expect(wrapped.cache?.keyFor({ id: 7 })).toMatch(/(^|:)user:7$/);
    expect(wrapped.cache?.keyFor({ id: 7, verbose: true })).toBe(wrapped.cache?.keyFor({ id: 7 }));
    expect(wrapped.cache?.keyFor({ id: 8 })).not.toBe(wrapped.cache?.keyFor({ id: 7 }));

    await expect(wrapped({ id: 7 })).resolves.toBe('user 7');
    await expect(wrapped({ id: 7, verbose: true })).resolves.toBe('user 7');
    await expect(wrapped({ id: 8 })).resolves.toBe('user 8');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(wrapped.cache?.scope.keys()).toEqual(['user:7', 'user:8']);
  });

  it('without `cache` the function has no cache layer: every call runs fn', async () => {
    const registry = new ResilienceRegistry();
    const fn = jest.fn(async (id: number) => id);
    const wrapped = registry.resilient({ retry: { maxAttempts: 2 } })(fn);
    expect(wrapped.cache).toBeUndefined();
    await wrapped(1);
    await wrapped(1);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
