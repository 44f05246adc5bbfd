import { SpanStatusCode } from '@opentelemetry/api';
import { Cache, MemoryStore, cacheEvent } from '@toolkit/cache';
import type { CacheStore } from '@toolkit/cache';
import { ResilienceRegistry, defaultRegistry, resilienceEvent, resilient } from '@toolkit/core';
import { durationMs, telemetry, useAsyncContext } from '../test/harness';
import type { Telemetry } from '../test/harness';
import { instrument } from './instrument';
import type { Instrumentation, InstrumentOptions } from './instrument';
import { AttributeName as A, MetricName as M } from './semantics';

useAsyncContext();

let t: Telemetry;
let running: Instrumentation[] = [];
const setUp = (options: InstrumentOptions) => {
  const instrumentation = instrument({ meterProvider: t.meterProvider, tracerProvider: t.tracerProvider, ...options });
  running.push(instrumentation);
  return instrumentation;
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  jest.useFakeTimers();
  t = telemetry();
});
afterEach(async () => {
  for (const r of running) r.stop();
  running = [];
  jest.useRealTimers();
  await t.shutdown();
});

describe('a Cache', () => {
  it('counts 3 misses and 2 hits as 3 and 2, and 3 loads of 40 ms each', async () => {
    const cache = new Cache({ maxSize: 100 });
    setUp({ cache });
    const getUser = cache.cached(async (id: number) => (await sleep(40), `user ${id}`), { name: 'users' });
    for (const id of [1, 2, 3]) {
      const call = getUser(id);
      await jest.advanceTimersByTimeAsync(40);
      await call;
    }
    await getUser(1);
    await getUser(2);

    const scope = { [A.CACHE_SCOPE]: 'users' };
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'hit' })).toBe(2);
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'miss' })).toBe(3);
    const foreground = { ...scope, [A.CACHE_LOAD_BACKGROUND]: false };
    expect(await t.points(M.CACHE_LOADS)).toEqual([{ attributes: foreground, value: 3 }]);
    expect(await t.points(M.CACHE_LOAD_DURATION)).toEqual([{ attributes: foreground, value: { count: 3, sum: 0.12 } }]);
    expect(await t.points(M.CACHE_LOAD_ERRORS)).toEqual([]);
    expect(await t.points(M.CACHE_ENTRY_COUNT)).toEqual([{ attributes: scope, value: 3 }]);
    expect(await t.points(M.CACHE_ENTRY_LIMIT)).toEqual([{ attributes: scope, value: 100 }]);
    expect(await t.points(M.CACHE_EVICTIONS)).toEqual([{ attributes: scope, value: 0 }]);
  });

  it('makes one span per load, a child of the caller\'s span, and none for a hit; the key only when asked', async () => {
    const cache = new Cache();
    setUp({ cache });
    const getUser = cache.cached(async (id: number) => (await sleep(25), `user ${id}`), { name: 'users' });
    const caller = t.tracerProvider.getTracer('app');
    await caller.startActiveSpan('GET /users/:id', async (request) => {
      const call = getUser(7);
      await jest.advanceTimersByTimeAsync(25);
      await call;
      await getUser(7); // a hit
      request.end();
    });

    const [load, request] = t.spans();
    expect(t.spans()).toHaveLength(2);
    expect(load?.name).toBe('load users');
    expect(load?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(load?.spanContext().traceId).toBe(request?.spanContext().traceId);
    expect(durationMs(load!)).toBe(25);
    expect(load?.attributes).toEqual({ [A.CACHE_SCOPE]: 'users', [A.CACHE_LOAD_BACKGROUND]: false });
    expect(load?.status.code).toBe(SpanStatusCode.UNSET);

    const other = new Cache();
    setUp({ cache: other, recordKeys: true });
    await other.cached(async (id: number) => id, { name: 'orders' })(9);
    expect(t.spans()[2]?.attributes).toEqual({ [A.CACHE_SCOPE]: 'orders', [A.CACHE_LOAD_BACKGROUND]: false, [A.CACHE_KEY]: 'orders:#9' });
  });

  it('counts 5 concurrent callers of a cold key as 5 misses and 1 load with 1 span; a refresh-ahead load is a background one', async () => {
    const cache = new Cache({ ttl: '1s', refreshAhead: 0.5 });
    setUp({ cache });
    let runs = 0;
    const getRate = cache.cached(async (pair: string) => (await sleep(20), `${pair} ${++runs}`), { name: 'rates' });
    const callers = Array.from({ length: 5 }, () => getRate('EURUSD'));
    await jest.advanceTimersByTimeAsync(20);
    expect(await Promise.all(callers)).toEqual(Array(5).fill('EURUSD 1'));
    await jest.advanceTimersByTimeAsync(600); // past refreshAhead: the next hit reloads in the background
    expect(await getRate('EURUSD')).toBe('EURUSD 1');
    await jest.advanceTimersByTimeAsync(20);

    const scope = { [A.CACHE_SCOPE]: 'rates' };
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'miss' })).toBe(5);
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'hit' })).toBe(1);
    expect(await t.points(M.CACHE_LOADS)).toEqual([
      { attributes: { ...scope, [A.CACHE_LOAD_BACKGROUND]: false }, value: 1 },
      { attributes: { ...scope, [A.CACHE_LOAD_BACKGROUND]: true }, value: 1 },
    ]);
    expect(t.spans().map((span) => [span.name, span.attributes[A.CACHE_LOAD_BACKGROUND], durationMs(span)])).toEqual([
      ['load rates', false, 20],
      ['load rates', true, 20],
    ]);
  });

  it('counts failed loads by error.type, marks their spans failed, and counts stale hits by reason', async () => {
    const cache = new Cache({ ttl: '1s', failSafe: '1m' });
    setUp({ cache });
    let fail = false;
    const getPrice = cache.cached(
      async (id: number) => {
        if (fail) throw new TypeError('backend down');
        return id * 10;
      },
      { name: 'prices' },
    );
    await getPrice(1);
    fail = true;
    await jest.advanceTimersByTimeAsync(1_000); // stale now, inside the fail-safe window
    expect(await getPrice(1)).toBe(10); // served stale
    await expect(getPrice(2)).rejects.toThrow('backend down');

    const scope = { [A.CACHE_SCOPE]: 'prices' };
    const failed = { ...scope, [A.CACHE_LOAD_BACKGROUND]: false, [A.ERROR_TYPE]: 'TypeError' };
    expect(await t.value(M.CACHE_LOAD_ERRORS, failed)).toBe(2);
    expect(await t.value(M.CACHE_LOADS, failed)).toBe(2);
    expect(await t.value(M.CACHE_LOADS, { ...scope, [A.CACHE_LOAD_BACKGROUND]: false })).toBe(1);
    expect(await t.points(M.CACHE_STALE_HITS)).toEqual([{ attributes: { ...scope, [A.CACHE_STALE_REASON]: 'error' }, value: 1 }]);
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'miss' })).toBe(3);

    const spans = t.spans();
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    expect(spans[1]?.attributes[A.ERROR_TYPE]).toBe('TypeError');
    expect(spans[1]?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('counts evictions, timeouts, L2 hits and L2 errors', async () => {
    const store = new MemoryStore();
    const writer = new Cache({ store });
    const reader = new Cache({ store, maxSize: 2, hardTimeout: '100ms' });
    setUp({ cache: reader });
    await writer.scope('s').set('a', 1);
    const s = reader.scope<number>('s');
    expect(await s.getOrSet('a', async () => 0)).toBe(1); // from the L2
    await s.getOrSet('b', async () => 2);
    await s.getOrSet('c', async () => 3); // evicts 'a'
    const hung = s.getOrSet('d', () => new Promise<number>(() => undefined));
    const timedOut = expect(hung).rejects.toThrow();
    await jest.advanceTimersByTimeAsync(100);
    await timedOut;

    /** An L2 whose reads fail (writes work). */
    class UnreadableStore extends MemoryStore {
      override getMany(): ReturnType<CacheStore['getMany']> {
        return Promise.reject(new RangeError('L2 down'));
      }
    }
    const degraded = new Cache({ store: new UnreadableStore() });
    setUp({ cache: degraded });
    expect(await degraded.scope<number>('t').getOrSet('k', async () => 5)).toBe(5);

    const scope = { [A.CACHE_SCOPE]: 's' };
    expect(await t.value(M.CACHE_L2_HITS, scope)).toBe(1);
    expect(await t.value(M.CACHE_EVICTIONS, scope)).toBe(1);
    expect(await t.value(M.CACHE_ENTRY_COUNT, scope)).toBe(2);
    expect(await t.points(M.CACHE_TIMEOUTS)).toEqual([{ attributes: { ...scope, [A.CACHE_TIMEOUT_KIND]: 'hard' }, value: 1 }]);
    expect(await t.points(M.CACHE_L2_ERRORS)).toEqual([
      { attributes: { [A.CACHE_SCOPE]: 't', [A.CACHE_L2_OPERATION]: 'get', [A.ERROR_TYPE]: 'RangeError' }, value: 1 },
    ]);
  });

  it('stop() unsubscribes and stops observing', async () => {
    const cache = new Cache();
    const telemetryOf = setUp({ cache });
    const double = cache.cached(async (n: number) => n * 2, { name: 'double' });
    await double(1);
    telemetryOf.stop();
    telemetryOf.stop(); // idempotent
    await double(2);
    expect(await t.points(M.CACHE_REQUESTS)).toEqual([]);
    expect(await t.value(M.CACHE_LOADS, { [A.CACHE_SCOPE]: 'double', [A.CACHE_LOAD_BACKGROUND]: false })).toBe(1);
    expect(t.spans()).toHaveLength(1);
  });

  it('with traces: false, records metrics and no span', async () => {
    const cache = new Cache();
    setUp({ cache, traces: false });
    await cache.cached(async (n: number) => n, { name: 'n' })(1);
    expect(await t.value(M.CACHE_LOADS, { [A.CACHE_SCOPE]: 'n', [A.CACHE_LOAD_BACKGROUND]: false })).toBe(1);
    expect(t.spans()).toEqual([]);
  });
});

describe('a ResilienceRegistry', () => {
  it('counts retries and calls, and makes one span per call with its attempts, a child of the caller\'s span', async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry });
    let attempts = 0;
    const flaky = registry.resilient({ retry: { maxAttempts: 3, delay: 100, backoffFactor: 1, jitter: false } })(async function flaky() {
      await sleep(10);
      if (++attempts < 3) throw new Error('flaky');
      return 'ok';
    });
    const caller = t.tracerProvider.getTracer('app');
    await caller.startActiveSpan('job', async (job) => {
      const call = flaky();
      await jest.advanceTimersByTimeAsync(10 + 100 + 10 + 100 + 10);
      expect(await call).toBe('ok');
      job.end();
    });

    const fn = { [A.FUNCTION_NAME]: 'flaky' };
    expect(await t.points(M.RETRIES)).toEqual([{ attributes: { ...fn, [A.ERROR_TYPE]: 'Error' }, value: 2 }]);
    const success = { ...fn, [A.OUTCOME]: 'success' };
    expect(await t.points(M.CALLS)).toEqual([{ attributes: success, value: 1 }]);
    expect(await t.points(M.CALL_DURATION)).toEqual([{ attributes: success, value: { count: 1, sum: 0.23 } }]);
    const [call, job] = t.spans();
    expect(call?.name).toBe('resilient flaky');
    expect(call?.parentSpanContext?.spanId).toBe(job?.spanContext().spanId);
    expect(call?.attributes).toEqual({ ...success, [A.ATTEMPTS]: 3 });
    expect(durationMs(call!)).toBe(230);
  });

  it('puts the cache key on call spans only with recordKeys', async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry, recordKeys: true });
    await registry.resilient({ cache: {} })(async function byEmail(email: string) {
      return email.length;
    })('ada@example.com');
    const call = t.spans().find((s) => s.name === 'resilient byEmail');
    expect(call?.attributes[A.CACHE_KEY]).toBe('byEmail:ada@example.com');
    const points = [...(await t.points(M.CALLS)), ...(await t.points(M.CACHE_REQUESTS)), ...(await t.points(M.CACHE_LOADS))];
    expect(JSON.stringify(points)).not.toContain('ada@example.com');
  });

  it('counts timeouts, bulkhead and rate-limit rejections, fallbacks and failures', async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry });
    const slow = registry.resilient({ timeout: '50ms' })(async function slow() {
      await sleep(1_000);
    });
    const timedOut = expect(slow()).rejects.toThrow();
    await jest.advanceTimersByTimeAsync(50);
    await timedOut;

    const gate = registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 0 } })(async function gated() {
      await sleep(10);
    });
    const first = gate();
    await expect(gate()).rejects.toThrow();
    await jest.advanceTimersByTimeAsync(10);
    await first;

    const limited = registry.resilient({ rateLimiter: { maxCalls: 1, period: '1s' } })(async function limited() {
      return 1;
    });
    await limited();
    await expect(limited()).rejects.toThrow();

    const safe = registry.resilient({ fallback: () => 'default' })(async function safe(): Promise<string> {
      throw new RangeError('nope');
    });
    expect(await safe()).toBe('default');

    const of = (name: string) => ({ [A.FUNCTION_NAME]: name });
    expect(await t.points(M.TIMEOUTS)).toEqual([{ attributes: of('slow'), value: 1 }]);
    expect(await t.points(M.BULKHEAD_REJECTIONS)).toEqual([{ attributes: of('gated'), value: 1 }]);
    expect(await t.points(M.RATE_LIMITER_REJECTIONS)).toEqual([{ attributes: of('limited'), value: 1 }]);
    expect(await t.points(M.FALLBACKS)).toEqual([{ attributes: { ...of('safe'), [A.ERROR_TYPE]: 'RangeError' }, value: 1 }]);
    expect(await t.value(M.CALLS, { ...of('safe'), [A.OUTCOME]: 'fallback' })).toBe(1);
    expect(await t.value(M.CALLS, { ...of('slow'), [A.OUTCOME]: 'failure', [A.ERROR_TYPE]: 'TimeoutError' })).toBe(1);
    expect(await t.value(M.CALLS, { ...of('gated'), [A.OUTCOME]: 'failure', [A.ERROR_TYPE]: 'BulkheadFullError' })).toBe(1);
    expect(await t.value(M.CALLS, { ...of('limited'), [A.OUTCOME]: 'failure', [A.ERROR_TYPE]: 'RateLimitedError' })).toBe(1);
    const failedSpan = t.spans().find((s) => s.name === 'resilient slow');
    expect(failedSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(t.spans().find((s) => s.name === 'resilient safe')?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('reports breaker transitions, and the state of named and given breakers', async () => {
    const registry = new ResilienceRegistry();
    const payments = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 2, halfOpenAfter: '10s' } });
    const unnamed = registry.resilient({ circuitBreaker: { failureThreshold: 5 } });
    setUp({ registry, circuitBreakers: [unnamed.circuitBreaker!] });
    const pay = payments(async function pay(): Promise<void> {
      throw new Error('declined');
    });
    await expect(pay()).rejects.toThrow('declined');
    await expect(pay()).rejects.toThrow('declined'); // opens
    const state = (name: string, s: string) => ({ [A.CIRCUIT_NAME]: name, [A.CIRCUIT_STATE]: s });
    expect(await t.value(M.CIRCUIT_STATE, state('payments', 'open'))).toBe(1);
    expect(await t.value(M.CIRCUIT_STATE, state('payments', 'closed'))).toBe(0);
    expect(await t.value(M.CIRCUIT_STATE, state('circuit', 'closed'))).toBe(1);
    await jest.advanceTimersByTimeAsync(10_000);
    payments.circuitBreaker!.reset();
    expect(await t.points(M.CIRCUIT_TRANSITIONS)).toEqual([
      { attributes: state('payments', 'open'), value: 1 },
      { attributes: state('payments', 'closed'), value: 1 },
    ]);
    expect(await t.value(M.CIRCUIT_STATE, state('payments', 'closed'))).toBe(1);
  });

  it('instruments the registry\'s cache too, counting each hit once (not again from the forwarded events)', async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry, cache: registry.cache }); // the same cache twice is instrumented once
    const getUser = registry.resilient({ cache: { ttl: '1m' } })(async function getUser(id: number) {
      return { id };
    });
    await getUser(1);
    await getUser(1);
    await getUser(1);
    const scope = { [A.CACHE_SCOPE]: 'getUser' };
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'hit' })).toBe(2);
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'miss' })).toBe(1);
    expect(await t.value(M.CALLS, { [A.FUNCTION_NAME]: 'getUser', [A.OUTCOME]: 'success' })).toBe(1);
    expect(t.spans().map((s) => s.name)).toEqual(['resilient getUser', 'load getUser']);
  });

  it('an instrumented hit through resilient() builds no event object', async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry, cache: registry.cache });
    const getUser = registry.resilient({ cache: { ttl: '1m' } })(async function getUser(id: number) {
      return { id };
    });
    await getUser(1);
    const builders = [
      ...Object.keys(cacheEvent).map((type) => jest.spyOn(cacheEvent, type as keyof typeof cacheEvent)),
      ...Object.keys(resilienceEvent).map((type) => jest.spyOn(resilienceEvent, type as keyof typeof resilienceEvent)),
    ];
    for (let i = 0; i < 1000; i++) await getUser(1);
    expect(builders.map((b) => b.mock.calls.length).reduce((a, b) => a + b, 0)).toBe(0);
    for (const b of builders) b.mockRestore();
    const scope = { [A.CACHE_SCOPE]: 'getUser' };
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'hit' })).toBe(1000);
    expect(await t.value(M.CACHE_REQUESTS, { ...scope, [A.CACHE_RESULT]: 'miss' })).toBe(1);
    expect(await t.value(M.CALLS, { [A.FUNCTION_NAME]: 'getUser', [A.OUTCOME]: 'success' })).toBe(1);
    expect(t.spans().map((s) => s.name)).toEqual(['resilient getUser', 'load getUser']);
  });

  it('instruments the module-level resilient() through defaultRegistry', async () => {
    setUp({ registry: defaultRegistry });
    await resilient({ retry: { maxAttempts: 2, delay: 0 } })(async function moduleLevel() {
      return 1;
    })();
    expect(await t.value(M.CALLS, { [A.FUNCTION_NAME]: 'moduleLevel', [A.OUTCOME]: 'success' })).toBe(1);
  });
});

describe('instrument()', () => {
  it('refuses options without a cache or a registry', () => {
    expect(() => instrument({})).toThrow(/needs a `cache`, a `registry`, or both/);
    expect(() => instrument({ cache: {} as Cache })).toThrow(TypeError);
    expect(() => instrument(null as unknown as InstrumentOptions)).toThrow(TypeError);
  });
});
