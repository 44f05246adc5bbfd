import { Cache } from '@toolkit/cache';
import { EventType, ResilienceRegistry, isCircuitOpenError, isRateLimitedError } from './index';
import type { ResilienceEvent } from './index';

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const result = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (result.ok) throw new Error(`expected a rejection, got ${String(result.value)}`);
  return result.error;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('registry: named pipelines', () => {
  it('a second resilient() of the same name throws a TypeError that points to registry.get', () => {
    const registry = new ResilienceRegistry();
    registry.resilient({ name: 'x', retry: {} });
    expect(() => registry.resilient({ name: 'x' })).toThrow(TypeError);
    expect(() => registry.resilient({ name: 'x', timeout: '1s' })).toThrow(/registry\.get\('x'\)/);
  });

  it('names are per registry', () => {
    const a = new ResilienceRegistry();
    const b = new ResilienceRegistry();
    const inA = a.resilient({ name: 'x' });
    const inB = b.resilient({ name: 'x' });
    expect(a.get('x')).toBe(inA);
    expect(b.get('x')).toBe(inB);
  });

  it('registry.get(name) returns the pipeline, and undefined for an unknown name', () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ name: 'users', retry: { maxAttempts: 2 } });
    expect(registry.get('users')).toBe(policy);
    expect(registry.get('users')?.pipelineName).toBe('users');
    expect(registry.get('orders')).toBeUndefined();
    // Unnamed pipelines are not registered.
    registry.resilient({});
    expect(registry.get('')).toBeUndefined();
  });

  it('functions wrapped through registry.get share the pipeline breaker', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ name: 'svc', circuitBreaker: { failureThreshold: 2 } });
    const failing = policy(async () => {
      throw new Error('down');
    });
    const otherFn = jest.fn(async () => 'fine');
    const other = registry.get('svc')!(otherFn);
    expect(other.circuitBreaker).toBe(failing.circuitBreaker);
    expect(other.circuitBreaker).toBe(registry.breaker('svc'));

    await rejection(failing());
    await rejection(failing());
    expect(isCircuitOpenError(await rejection(other()))).toBe(true);
    expect(otherFn).not.toHaveBeenCalled();
    // The pipeline's name names its breaker: it shows in health().
    expect(registry.health()).toMatchObject({ svc: { state: 'open' } });
  });

  it('functions wrapped through registry.get share the pipeline rate limiter and bulkhead', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ name: 'api', rateLimiter: { maxCalls: 2, period: '1m' }, bulkhead: { maxConcurrent: 3 } });
    const one = policy(async () => 1);
    const two = registry.get('api')!(async () => 2);
    expect(two.rateLimiter).toBe(one.rateLimiter);
    expect(two.bulkhead).toBe(one.bulkhead);
    expect(registry.get('api')?.rateLimiter).toBe(one.rateLimiter);
    await expect(one()).resolves.toBe(1);
    await expect(two()).resolves.toBe(2);
    expect(isRateLimitedError(await rejection(one()))).toBe(true);
    expect(isRateLimitedError(await rejection(two()))).toBe(true);
  });

  it('refuses an empty or non-string name', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ name: '' })).toThrow(TypeError);
    expect(() => registry.resilient({ name: 42 as unknown as string })).toThrow(/`name`/);
  });
});

describe('registry: events', () => {
  it("registry.on('*') sees the events of every pipeline; policy.on() only its own", async () => {
    const registry = new ResilienceRegistry();
    const all: ResilienceEvent[] = [];
    registry.on('*', (e) => all.push(e));
    const first = registry.resilient({});
    const second = registry.resilient({ fallback: 'fallback' });
    const firstOnly: string[] = [];
    first.on('*', (e) => firstOnly.push(`${e.functionName}:${e.type}`));

    const ok = first(async function fetchUser() {
      return 'user';
    });
    const broken = second(async function fetchOrder(): Promise<string> {
      throw new Error('down');
    });
    await ok();
    await expect(broken()).resolves.toBe('fallback');

    expect(all.map((e) => `${e.functionName}:${e.type}`)).toEqual(['fetchUser:SUCCESS', 'fetchOrder:FALLBACK_USED']);
    expect(firstOnly).toEqual(['fetchUser:SUCCESS']);
  });

  it('listens to one event type, and the unsubscribe functions work', async () => {
    const registry = new ResilienceRegistry();
    const policy = registry.resilient({ retry: { maxAttempts: 2, delay: 10, jitter: false } });
    const retries: number[] = [];
    const failures: unknown[] = [];
    const offRetry = registry.on(EventType.RETRY, (e) => retries.push(e.delayMs));
    const offFailure = policy.on('FAILURE', (e) => failures.push(e.error));
    const wrapped = policy(async () => {
      throw new Error('down');
    });

    let call = rejection(wrapped());
    await jest.advanceTimersByTimeAsync(10);
    await call;
    expect(retries).toEqual([10]);
    expect(failures).toHaveLength(1);

    offRetry();
    offFailure();
    offFailure(); // a second call is harmless
    call = rejection(wrapped());
    await jest.advanceTimersByTimeAsync(10);
    await call;
    expect(retries).toEqual([10]);
    expect(failures).toHaveLength(1);
  });

  it('refuses an unknown event type', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.on('CIRCUIT_OPENED' as never, () => undefined)).toThrow(TypeError);
    expect(() => registry.resilient({}).on('NOPE' as never, () => undefined)).toThrow(/NOPE/);
  });

  it('listeners added after the pipeline was made still get its events, and onEvent too', async () => {
    const registry = new ResilienceRegistry();
    const fromOption: string[] = [];
    const policy = registry.resilient({ cache: { ttl: '1m' }, onEvent: (e) => fromOption.push(e.type) });
    const wrapped = policy(async (n: number) => n * 2);
    const late: string[] = [];
    registry.on('*', (e) => late.push(e.type));
    await wrapped(1);
    await wrapped(1);
    expect(fromOption).toEqual(['CACHE_MISS', 'SUCCESS', 'CACHE_HIT']);
    expect(late).toEqual(['CACHE_MISS', 'SUCCESS', 'CACHE_HIT']);
  });
});

describe('registry: throwing listeners', () => {
  it('never change the outcome of a call, and are reported to onListenerError', async () => {
    const reported: unknown[] = [];
    const registry = new ResilienceRegistry({ onListenerError: (error) => reported.push(error) });
    const globalFault = new Error('global listener bug');
    const pipelineFault = new Error('pipeline listener bug');
    const optionFault = new Error('onEvent bug');
    registry.on('*', () => {
      throw globalFault;
    });
    const policy = registry.resilient({
      circuitBreaker: { failureThreshold: 1 },
      onEvent: () => {
        throw optionFault;
      },
    });
    policy.on('*', () => {
      throw pipelineFault;
    });
    const seenAfter: string[] = [];
    registry.on('*', (e) => seenAfter.push(e.type)); // later listeners still get every event

    await expect(policy(async () => 'value')()).resolves.toBe('value');
    expect(reported).toEqual([optionFault, pipelineFault, globalFault]);

    const own = new Error('the function failed');
    const failing = policy(async () => {
      throw own;
    });
    await expect(failing()).rejects.toBe(own); // not a listener's error
    expect(isCircuitOpenError(await rejection(failing()))).toBe(true);
    expect(seenAfter).toEqual(['SUCCESS', 'CIRCUIT_OPEN', 'FAILURE', 'FAILURE']);
    expect(reported.length).toBe(12); // 4 events × 3 throwing listeners
  });

  it('a listener that throws on a breaker event does not disturb the breaker', async () => {
    const reported: unknown[] = [];
    const registry = new ResilienceRegistry({ onListenerError: (error) => reported.push(error) });
    registry.on(EventType.CIRCUIT_HALF_OPEN, () => {
      throw new Error('listener bug');
    });
    const wrapped = registry.resilient({ circuitBreaker: { failureThreshold: 1, halfOpenAfter: 100 } })(async (fail: boolean) => {
      if (fail) throw new Error('down');
      return 'up';
    });
    await rejection(wrapped(true));
    await jest.advanceTimersByTimeAsync(100);
    await expect(wrapped(false)).resolves.toBe('up');
    expect(wrapped.circuitBreaker?.state).toBe('closed');
    expect(reported).toHaveLength(1);
  });

  it('a throwing onListenerError is swallowed too', async () => {
    const registry = new ResilienceRegistry({
      onListenerError: () => {
        throw new Error('reporter bug');
      },
    });
    registry.on('*', () => {
      throw new Error('listener bug');
    });
    await expect(registry.resilient({})(async () => 'still fine')()).resolves.toBe('still fine');
  });

  it('by default, a listener error becomes a process warning', async () => {
    const registry = new ResilienceRegistry();
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      registry.on('*', () => {
        throw new Error('listener bug');
      });
      await expect(registry.resilient({})(async () => 1)()).resolves.toBe(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/listener bug/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('registry: options', () => {
  it('an unknown option key is a TypeError naming it', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient({ retires: { maxAttempts: 3 } } as never)).toThrow(TypeError);
    expect(() => registry.resilient({ retires: { maxAttempts: 3 } } as never)).toThrow(/`retires`/);
    expect(() => registry.resilient({ circuitBreaker: {}, bulkHead: { maxConcurrent: 1 } } as never)).toThrow(/`bulkHead`/);
  });

  it('refuses options that are not an object, and wrapping a non-function', () => {
    const registry = new ResilienceRegistry();
    expect(() => registry.resilient(null as never)).toThrow(TypeError);
    expect(() => registry.resilient({})('not a function' as never)).toThrow(TypeError);
  });

  it('pipelines with a cache make their scopes in the registry cache', async () => {
    const cache = new Cache();
    const registry = new ResilienceRegistry({ cache });
    expect(registry.cache).toBe(cache);
    const fn = jest.fn(async (n: number) => n + 1);
    const wrapped = registry.resilient({ cache: { ttl: '1m' } })(fn);
    await wrapped(1);
    await wrapped(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(wrapped.cache?.scope.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('health() lists breakers named like Object.prototype members as any other', () => {
    const registry = new ResilienceRegistry();
    registry.resilient({ name: '__proto__', circuitBreaker: {} });
    registry.resilient({ name: 'constructor', circuitBreaker: {} });
    const health = registry.health();
    expect(Object.keys(health)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(health, '__proto__')?.value).toEqual({ state: 'closed', lastFailure: undefined });
    expect(Object.getOwnPropertyDescriptor(health, 'constructor')?.value).toEqual({ state: 'closed', lastFailure: undefined });
  });

  it('health() is empty while no breaker is named', () => {
    const registry = new ResilienceRegistry();
    registry.resilient({ circuitBreaker: {} });
    expect(registry.health()).toEqual({});
    expect(registry.breaker('circuit')).toBeUndefined();
  });
});
