// The one event stream of resilient(): the shape of every event, where listeners attach, what a
// throwing listener can (not) do, and cache events forwarded only while someone listens.
import { cacheEvent } from '@toolkit/cache';
import { EventType, ResilienceRegistry, resilienceEvent } from './index';
import type { ResilienceEvent, ResilienceEventListener } from './index';
import { watchUnhandledRejections } from '../test/unhandledRejections';

const { expectNoUnhandledRejection } = watchUnhandledRejections();

/** The rejection of `promise`; fails the test when it resolves. Attach it before advancing timers. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    return error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const FIELDS = ['type', 'functionName', 'key', 'attempt', 'error', 'durationMs', 'at'];

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the shape of events', () => {
  it('every event has functionName, type, key (the cache key), attempt, error, durationMs and at', async () => {
    const registry = new ResilienceRegistry();
    const events: Array<ResilienceEvent & { atNow: number }> = [];
    const failure = new Error('slow and then broken');
    let attempt = 0;
    const wrapped = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 3, delay: 10, jitter: false },
      timeout: { after: 100 },
      fallback: 'fallback',
      onEvent: (e) => void events.push({ ...e, atNow: Date.now() }),
    })(async function fetchThing(id: number): Promise<string> {
      attempt++;
      if (id === 2) return 'two';
      if (attempt === 1) await sleep(1000); // times out
      throw failure;
    });

    const call = wrapped(1);
    await jest.advanceTimersByTimeAsync(200);
    await expect(call).resolves.toBe('fallback');
    await wrapped(2);
    await wrapped(2);

    expect(events.map((e) => e.type)).toEqual([
      'CACHE_MISS',
      'TIMEOUT',
      'RETRY',
      'RETRY',
      'RETRY_EXHAUSTED',
      'FALLBACK_USED',
      'CACHE_MISS',
      'SUCCESS',
      'CACHE_HIT',
    ]);
    for (const event of events) {
      for (const field of FIELDS) expect(Object.keys(event)).toContain(field);
      expect(event.functionName).toBe('fetchThing');
      expect(event.at).toBe(event.atNow);
    }
    const key1 = wrapped.cache?.keyFor(1);
    const key2 = wrapped.cache?.keyFor(2);
    expect(key1).not.toBe(key2);
    expect(events.slice(0, 6).every((e) => e.key === key1)).toBe(true);
    expect(events.slice(6).every((e) => e.key === key2)).toBe(true);

    const [, timeoutEvent, retry1, retry2, exhausted, fallback] = events;
    expect(timeoutEvent).toMatchObject({ attempt: 1, durationMs: 100 });
    expect(retry1).toMatchObject({ attempt: 1, delayMs: 10 });
    expect((retry1?.error as Error).name).toBe('TimeoutError');
    expect(retry2).toMatchObject({ attempt: 2, error: failure, delayMs: 20 });
    expect(exhausted).toMatchObject({ attempt: 3, error: failure });
    expect(fallback).toMatchObject({ attempt: 3, error: failure });
    expect(fallback?.durationMs).toBe(100 + 10 + 20);
    expect(events[7]).toMatchObject({ attempt: 1, error: undefined, durationMs: 0 });
    expect(events[8]).toMatchObject({ attempt: undefined, error: undefined, durationMs: undefined });
  });

  it('without a cache, key is undefined on every event', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    const wrapped = registry.resilient({
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      onEvent: (e) => void events.push(e),
    })(async (id: number) => {
      if (events.length === 0) throw new Error('first');
      return id;
    });
    const call = wrapped(1);
    await jest.advanceTimersByTimeAsync(10);
    await call;
    expect(events.map((e) => e.type)).toEqual(['RETRY', 'SUCCESS']);
    for (const event of events) {
      expect(Object.keys(event)).toContain('key');
      expect(event.key).toBeUndefined();
    }
  });

  it('SUCCESS carries the number of attempts and the duration of the whole call', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    let attempt = 0;
    const wrapped = registry.resilient({
      retry: { maxAttempts: 3, delay: 10, jitter: false },
      onEvent: (e) => void events.push(e),
    })(async function work() {
      attempt++;
      await sleep(50);
      if (attempt < 2) throw new Error(`attempt ${attempt}`);
      return 'done';
    });
    const call = wrapped();
    await jest.advanceTimersByTimeAsync(110);
    await expect(call).resolves.toBe('done');
    const success = events.find((e) => e.type === 'SUCCESS');
    expect(success).toMatchObject({ functionName: 'work', attempt: 2, error: undefined, durationMs: 50 + 10 + 50 });
  });

  it('FAILURE is emitted when the error reaches the caller, with the error and the attempts', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    const errors: Error[] = [];
    const wrapped = registry.resilient({
      retry: { maxAttempts: 2, delay: 10, jitter: false },
      onEvent: (e) => void events.push(e),
    })(async function broken() {
      const error = new Error(`attempt ${errors.length + 1}`);
      errors.push(error);
      throw error;
    });
    const call = rejection(wrapped());
    await jest.advanceTimersByTimeAsync(10);
    expect(await call).toBe(errors[1]);
    expect(events.map((e) => e.type)).toEqual(['RETRY', 'RETRY_EXHAUSTED', 'FAILURE']);
    expect(events[2]).toMatchObject({ functionName: 'broken', attempt: 2, error: errors[1], durationMs: 10 });
  });

  it('an anonymous function is named after the pipeline, or "anonymous"', async () => {
    const registry = new ResilienceRegistry();
    const seen: string[] = [];
    registry.on('SUCCESS', (e) => void seen.push(e.functionName));
    const fns = [(async () => 1) as () => Promise<number>, (async () => 2) as () => Promise<number>];
    Object.defineProperty(fns[0], 'name', { value: '' });
    Object.defineProperty(fns[1], 'name', { value: '' });
    const named = registry.resilient({ name: 'inventory' })(fns[0]!);
    const unnamed = registry.resilient({})(fns[1]!);
    await named();
    await unnamed();
    expect(seen).toEqual(['inventory', 'anonymous']);
    expect(named.functionName).toBe('inventory');
  });

  it('EventType lists every event type, each constant equal to its name', () => {
    expect(Object.keys(EventType).sort()).toEqual(
      [
        'CACHE_HIT',
        'CACHE_MISS',
        'CACHE_STALE_HIT',
        'CACHE_REFRESH',
        'CACHE_EVICTION',
        'RETRY',
        'RETRY_EXHAUSTED',
        'TIMEOUT',
        'CIRCUIT_OPEN',
        'CIRCUIT_HALF_OPEN',
        'CIRCUIT_CLOSED',
        'FALLBACK_USED',
        'BULKHEAD_REJECTED',
        'RATE_LIMITED',
        'SLOW_CALL',
        'SUCCESS',
        'FAILURE',
      ].sort(),
    );
    for (const [name, value] of Object.entries(EventType)) expect(value).toBe(name);
    expect(Object.isFrozen(EventType)).toBe(true);
  });
});

describe('where listeners attach', () => {
  it('a listener added while a call runs gets its later events, but not the outcome of a call nobody watched at its start', async () => {
    const registry = new ResilienceRegistry();
    let attempts = 0;
    const policy = registry.resilient({ retry: { maxAttempts: 3, delay: 10, jitter: false } });
    const wrapped = policy(async function flaky() {
      await sleep(5);
      if (++attempts < 3) throw new Error(`attempt ${attempts} failed`);
      return attempts;
    });
    const unwatched = wrapped();
    const seen: string[] = [];
    policy.on('*', (e) => void seen.push(`${e.type} ${e.attempt}`));
    await jest.advanceTimersByTimeAsync(5 + 10 + 5 + 20 + 5);
    await expect(unwatched).resolves.toBe(3);
    expect(seen).toEqual(['RETRY 1', 'RETRY 2']); // no SUCCESS: nobody listened when it started
    attempts = 2;
    const watched = wrapped();
    await jest.advanceTimersByTimeAsync(5);
    await expect(watched).resolves.toBe(3);
    expect(seen).toEqual(['RETRY 1', 'RETRY 2', 'SUCCESS 1']);
  });

  it('per-pipeline onEvent, policy.on() and registry.on() all receive the events of a call', async () => {
    const registry = new ResilienceRegistry();
    const other = new ResilienceRegistry();
    const fromOption: string[] = [];
    const fromPolicy: string[] = [];
    const fromRegistry: string[] = [];
    const fromOtherRegistry: string[] = [];
    const fromOtherPipeline: string[] = [];
    registry.on('*', (e) => void fromRegistry.push(e.type));
    other.on('*', (e) => void fromOtherRegistry.push(e.type));
    const policy = registry.resilient({ cache: { ttl: '1m' }, onEvent: (e) => void fromOption.push(e.type) });
    policy.on('*', (e) => void fromPolicy.push(e.type));
    registry.resilient({}).on('*', (e) => void fromOtherPipeline.push(e.type));

    const wrapped = policy(async (id: number) => id);
    await wrapped(1);
    await wrapped(1);

    const expected = ['CACHE_MISS', 'SUCCESS', 'CACHE_HIT'];
    expect(fromOption).toEqual(expected);
    expect(fromPolicy).toEqual(expected);
    expect(fromRegistry).toEqual(expected);
    expect(fromOtherRegistry).toEqual([]);
    expect(fromOtherPipeline).toEqual([]);
  });

  it('a pipeline listener hears every function the pipeline wraps', async () => {
    const registry = new ResilienceRegistry();
    const seen: string[] = [];
    const policy = registry.resilient({});
    policy.on('SUCCESS', (e) => void seen.push(e.functionName));
    await policy(async function first() {
      return 1;
    })();
    await policy(async function second() {
      return 2;
    })();
    expect(seen).toEqual(['first', 'second']);
  });

  it('a listener of one type receives only that type, typed', async () => {
    const registry = new ResilienceRegistry();
    const retries: Array<{ attempt: number | undefined; delayMs: number }> = [];
    let attempt = 0;
    const policy = registry.resilient({ retry: { maxAttempts: 3, delay: 10, jitter: false } });
    policy.on('RETRY', (e) => void retries.push({ attempt: e.attempt, delayMs: e.delayMs }));
    const call = policy(async () => {
      if (++attempt < 3) throw new Error('again');
      return 'ok';
    })();
    await jest.advanceTimersByTimeAsync(30);
    await call;
    expect(retries).toEqual([
      { attempt: 1, delayMs: 10 },
      { attempt: 2, delayMs: 20 },
    ]);
  });

  it('an unknown event type, or a listener that is not a function, is a TypeError', () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({});
    const unknownType = 'CACHE_HITS' as unknown as 'CACHE_HIT';
    expect(() => registry.on(unknownType, () => undefined)).toThrow(TypeError);
    expect(() => policy.on(unknownType, () => undefined)).toThrow(TypeError);
    expect(() => registry.on(42 as unknown as 'CACHE_HIT', () => undefined)).toThrow(TypeError);
    expect(() => registry.on('*', 'listener' as unknown as ResilienceEventListener)).toThrow(TypeError);
    expect(() => policy.on('SUCCESS', undefined as unknown as ResilienceEventListener)).toThrow(TypeError);
  });

  it('unsubscribing stops the events, and is harmless when repeated', async () => {
    const registry = new ResilienceRegistry();
    const seen: string[] = [];
    const policy = registry.resilient({});
    const wrapped = policy(async () => 1);
    const offPolicy = policy.on('*', (e) => void seen.push(`policy ${e.type}`));
    const offRegistry = registry.on('*', (e) => void seen.push(`registry ${e.type}`));
    await wrapped();
    offPolicy();
    offRegistry();
    offPolicy();
    offRegistry();
    await wrapped();
    expect(seen).toEqual(['policy SUCCESS', 'registry SUCCESS']);
  });
});

describe('a throwing listener never changes the outcome', () => {
  /** Runs the same scenario on a registry without listeners and on one whose listeners all throw. */
  async function scenario(listen: boolean) {
    const listenerErrors: unknown[] = [];
    const registry = new ResilienceRegistry({ onListenerError: (error) => void listenerErrors.push(error) });
    const thrower = (where: string) => (e: ResilienceEvent) => {
      throw new Error(`${where} listener threw on ${e.type}`);
    };
    const failure = new Error('always fails');
    let attempt = 0;
    const policy = registry.resilient({
      cache: { ttl: '1m' },
      retry: { maxAttempts: 3, delay: 10, jitter: false },
      circuitBreaker: { failureThreshold: 100 },
      timeout: '1s',
      ...(listen ? { onEvent: thrower('onEvent') } : {}),
    });
    if (listen) {
      policy.on('*', thrower('policy'));
      registry.on('*', thrower('registry'));
    }
    const flaky = policy(async function flaky(id: number) {
      if (++attempt < 3) throw new Error(`attempt ${attempt}`);
      return `value ${id}`;
    });
    const broken = policy(async function broken(_id: number): Promise<string> {
      throw failure;
    });

    const ok = flaky(1);
    const ko = rejection(broken(1));
    await jest.advanceTimersByTimeAsync(100);
    const outcome = { ok: await ok, ko: await ko, hit: await flaky(1), attempt };
    return { outcome, failure, listenerErrors };
  }

  it('calls resolve and reject exactly as without listeners; every listener error goes to onListenerError', async () => {
    const quiet = await scenario(false);
    const noisy = await scenario(true);

    expect(quiet.outcome).toEqual({ ok: 'value 1', ko: quiet.failure, hit: 'value 1', attempt: 3 });
    expect(noisy.outcome).toEqual({ ok: 'value 1', ko: noisy.failure, hit: 'value 1', attempt: 3 });
    expect(noisy.outcome.ko).toBe(noisy.failure);
    expect(quiet.listenerErrors).toEqual([]);

    const messages = noisy.listenerErrors.map((e) => (e as Error).message);
    for (const where of ['onEvent', 'policy', 'registry']) {
      for (const type of ['CACHE_MISS', 'RETRY', 'SUCCESS', 'RETRY_EXHAUSTED', 'FAILURE', 'CACHE_HIT']) {
        expect(messages).toContain(`${where} listener threw on ${type}`);
      }
    }
  });

  it('a listener whose promise rejects is reported like a throwing one, never as an unhandled rejection', async () => {
    const listenerErrors: unknown[] = [];
    const registry = new ResilienceRegistry({ onListenerError: (e) => void listenerErrors.push(e) });
    const bug = new Error('async listener bug');
    const policy = registry.resilient({
      cache: { ttl: '1m' },
      onEvent: async (e) => {
        if (e.type === EventType.CACHE_MISS) throw bug;
      },
    });
    const wrapped = policy(async (id: number) => `value ${id}`);
    await expect(wrapped(1)).resolves.toBe('value 1');
    await expectNoUnhandledRejection();
    expect(listenerErrors).toEqual([bug]);
  });

  it('the listeners after a throwing one still receive the event', async () => {
    const registry = new ResilienceRegistry({ onListenerError: () => undefined });
    const seen: string[] = [];
    const policy = registry.resilient({
      onEvent: () => {
        throw new Error('first');
      },
    });
    policy.on('*', (e) => void seen.push(e.type));
    await expect(policy(async () => 'v')()).resolves.toBe('v');
    expect(seen).toEqual(['SUCCESS']);
  });

  it('without onListenerError, a listener error becomes a process warning', async () => {
    const registry = new ResilienceRegistry();
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      registry.on('SUCCESS', () => {
        throw new Error('listener bug');
      });
      await expect(registry.resilient({})(async () => 'v')()).resolves.toBe('v');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toContain('listener bug');
    } finally {
      warn.mockRestore();
    }
  });

  it('a listener throwing on CIRCUIT_OPEN does not stop the breaker from opening', async () => {
    const listenerErrors: unknown[] = [];
    const registry = new ResilienceRegistry({ onListenerError: (e) => void listenerErrors.push(e) });
    const failure = new Error('down');
    const wrapped = registry.resilient({
      circuitBreaker: { failureThreshold: 1, halfOpenAfter: '1m' },
      onEvent: (e) => {
        if (e.type === 'CIRCUIT_OPEN') throw new Error('listener threw on CIRCUIT_OPEN');
      },
    })(async () => {
      throw failure;
    });
    expect(await rejection(wrapped())).toBe(failure);
    expect(wrapped.circuitBreaker?.state).toBe('open');
    expect((await rejection(wrapped())) as Error).toMatchObject({ code: 'E_CIRCUIT_OPEN' });
    expect(listenerErrors).toEqual([new Error('listener threw on CIRCUIT_OPEN')]);
  });
});

describe('cache events are forwarded only while someone listens', () => {
  it('subscribing after the function exists brings its cache events; unsubscribing stops them', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ cache: { ttl: '1m' } });
    const wrapped = policy(async (id: number) => id);
    await wrapped(1); // nobody listens yet

    const seen: string[] = [];
    const off = policy.on('*', (e) => void seen.push(e.type));
    await wrapped(1);
    await wrapped(2);
    expect(seen).toEqual(['CACHE_HIT', 'CACHE_MISS', 'SUCCESS']);

    off();
    await wrapped(1);
    await wrapped(3);
    expect(seen).toHaveLength(3);

    const again = policy.on('CACHE_HIT', (e) => void seen.push(`again ${e.type}`));
    await wrapped(1);
    expect(seen).toEqual(['CACHE_HIT', 'CACHE_MISS', 'SUCCESS', 'again CACHE_HIT']);
    again();
  });

  it('the same holds for registry listeners', async () => {
    const registry = new ResilienceRegistry();
    const wrapped = registry.resilient({ cache: { ttl: '1m' } })(async (id: number) => id);
    await wrapped(1);
    const seen: string[] = [];
    const off = registry.on('*', (e) => void seen.push(`${e.type} ${e.key ?? ''}`));
    await wrapped(1);
    off();
    await wrapped(1);
    expect(seen).toEqual([`CACHE_HIT ${wrapped.cache?.keyFor(1)}`]);
  });

  it('a pipeline listener stays when a registry listener leaves (and the other way round)', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ cache: { ttl: '1m' } });
    const wrapped = policy(async (id: number) => id);
    await wrapped(1);
    const fromPolicy: string[] = [];
    const fromRegistry: string[] = [];
    const offPolicy = policy.on('*', (e) => void fromPolicy.push(e.type));
    const offRegistry = registry.on('*', (e) => void fromRegistry.push(e.type));
    offRegistry();
    await wrapped(1);
    expect(fromPolicy).toEqual(['CACHE_HIT']);
    const offRegistry2 = registry.on('*', (e) => void fromRegistry.push(e.type));
    offPolicy();
    await wrapped(1);
    expect(fromRegistry).toEqual(['CACHE_HIT']);
    offRegistry2();
  });

  it('a stale hit, an eviction and a cache-level timeout are forwarded as CACHE_STALE_HIT, CACHE_EVICTION and TIMEOUT', async () => {
    const registry = new ResilienceRegistry();
    const events: Array<ResilienceEvent & { reason?: string }> = [];
    let runs = 0;
    const wrapped = registry.resilient({
      cache: { ttl: '1s', failSafe: '1m', maxSize: 1, hardTimeout: '5s' },
      onEvent: (e) => void events.push(e),
    })(async (id: number) => {
      runs++;
      if (id === 3) await sleep(10_000);
      if (runs > 1 && id === 1) throw new Error('refresh failed');
      return id;
    });
    await wrapped(1);
    await jest.advanceTimersByTimeAsync(1001);
    await expect(wrapped(1)).resolves.toBe(1);
    const stale = events.find((e) => e.type === 'CACHE_STALE_HIT');
    expect(stale).toMatchObject({ key: wrapped.cache?.keyFor(1), reason: 'error' });
    expect((stale?.error as Error).message).toBe('refresh failed');

    await wrapped(2);
    expect(events.find((e) => e.type === 'CACHE_EVICTION')).toMatchObject({ key: wrapped.cache?.keyFor(1) });

    const slow = rejection(wrapped(3));
    await jest.advanceTimersByTimeAsync(5000);
    expect((await slow) as Error).toMatchObject({ name: 'CacheTimeoutError' });
    expect(events.find((e) => e.type === 'TIMEOUT')).toMatchObject({ key: wrapped.cache?.keyFor(3), durationMs: 5000 });
    await jest.advanceTimersByTimeAsync(5000);
  });
});

describe('cache events are built only for the types someone listens to', () => {
  afterEach(() => jest.restoreAllMocks());

  it('1,000 hits build no event when the listeners want only CACHE_MISS and SUCCESS', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ cache: { ttl: '1m' } });
    const wrapped = policy(async (id: number) => id);
    const cacheHit = jest.spyOn(cacheEvent, 'CACHE_HIT');
    const pipelineHit = jest.spyOn(resilienceEvent, 'CACHE_HIT');
    const seen: string[] = [];
    policy.on('CACHE_MISS', (e) => void seen.push(`${e.type} ${e.key ?? ''}`));
    registry.on('SUCCESS', (e) => void seen.push(`${e.type} ${e.attempt ?? 0}`));
    await wrapped(1);
    for (let i = 0; i < 1000; i++) await wrapped(1);
    expect(cacheHit).toHaveBeenCalledTimes(0);
    expect(pipelineHit).toHaveBeenCalledTimes(0);
    expect(seen).toEqual([`CACHE_MISS ${wrapped.cache?.keyFor(1)}`, 'SUCCESS 1']);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ hits: 1000, misses: 1 });
  });

  it('a CACHE_HIT listener added later gets the hits, and once it leaves they are built no more', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ cache: { ttl: '1m' } });
    const wrapped = policy(async (id: number) => id);
    const cacheHit = jest.spyOn(cacheEvent, 'CACHE_HIT');
    registry.on('TIMEOUT', () => undefined);
    await wrapped(1);
    await wrapped(1);
    expect(cacheHit).toHaveBeenCalledTimes(0);

    const hits: string[] = [];
    const off = registry.on('CACHE_HIT', (e) => void hits.push(`${e.functionName} ${e.key ?? ''}`));
    await wrapped(1);
    await wrapped(1);
    expect(hits).toEqual([`anonymous ${wrapped.cache?.keyFor(1)}`, `anonymous ${wrapped.cache?.keyFor(1)}`]);
    expect(cacheHit).toHaveBeenCalledTimes(2);
    off();
    await wrapped(1);
    expect(cacheHit).toHaveBeenCalledTimes(2);
    expect(hits).toHaveLength(2);
  });

  it("'*' still receives every event next to listeners of one type", async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ cache: { ttl: '1m' } });
    const wrapped = policy(async (id: number) => id);
    const all: string[] = [];
    const misses: string[] = [];
    policy.on('CACHE_MISS', (e) => void misses.push(e.type));
    registry.on('*', (e) => void all.push(e.type));
    await wrapped(1);
    await wrapped(1);
    await wrapped(2);
    expect(all).toEqual(['CACHE_MISS', 'SUCCESS', 'CACHE_HIT', 'CACHE_MISS', 'SUCCESS']);
    expect(misses).toEqual(['CACHE_MISS', 'CACHE_MISS']);
  });
});
