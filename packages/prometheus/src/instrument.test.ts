import { Registry } from 'prom-client';
import { Cache, MemoryStore, cacheEvent } from '@toolkit/cache';
import type { CacheStore } from '@toolkit/cache';
import { ResilienceRegistry, resilienceEvent } from '@toolkit/core';
import { PrometheusMetricName as M, instrument } from './instrument';
import type { PrometheusInstrumentation, PrometheusOptions } from './instrument';

/** One sample of the text exposition format: `name{a="1",b="2"} 3`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Scrapes the registry as Prometheus would, and parses the text. */
async function scrape(register: Registry): Promise<Sample[]> {
  const text = await register.metrics();
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1] ?? '', labels, value: Number(match[3]) };
    });
}

/** The samples of `name`, labels and values only (sorted by labels), for exact comparisons. */
async function samples(register: Registry, name: string): Promise<Array<[Record<string, string>, number]>> {
  return (await scrape(register))
    .filter((s) => s.name === name)
    .map((s): [Record<string, string>, number] => [s.labels, s.value])
    .sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
}

/** The one sample of `name` with exactly `labels`, or `undefined`. */
async function value(register: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return (await scrape(register)).find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

let register: Registry;
let running: PrometheusInstrumentation[] = [];
const setUp = (options: PrometheusOptions) => {
  const instrumentation = instrument({ register, ...options });
  running.push(instrumentation);
  return instrumentation;
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  jest.useFakeTimers();
  register = new Registry();
});
afterEach(() => {
  for (const r of running) r.stop();
  running = [];
  jest.useRealTimers();
});

describe('a Cache', () => {
  it('counts 3 misses and 2 hits as 3 and 2, and 3 loads of 40 ms in the histogram', async () => {
    const cache = new Cache({ maxSize: 100 });
    setUp({ cache, buckets: [0.01, 0.05, 0.1] });
    const getUser = cache.cached(async (id: number) => (await sleep(40), `user ${id}`), { name: 'users' });
    for (const id of [1, 2, 3]) {
      const call = getUser(id);
      await jest.advanceTimersByTimeAsync(40);
      await call;
    }
    await getUser(1);
    await getUser(2);

    expect(await samples(register, M.CACHE_REQUESTS)).toEqual([
      [{ scope: 'users', result: 'hit' }, 2],
      [{ scope: 'users', result: 'miss' }, 3],
    ]);
    const labels = { scope: 'users', background: 'false', outcome: 'success' };
    expect(await samples(register, M.CACHE_LOADS)).toEqual([[labels, 3]]);
    expect(await samples(register, `${M.CACHE_LOAD_DURATION}_bucket`)).toEqual([
      [{ ...labels, le: '+Inf' }, 3],
      [{ ...labels, le: '0.01' }, 0],
      [{ ...labels, le: '0.05' }, 3],
      [{ ...labels, le: '0.1' }, 3],
    ]);
    expect(await value(register, `${M.CACHE_LOAD_DURATION}_sum`, labels)).toBeCloseTo(0.12, 10);
    expect(await value(register, `${M.CACHE_LOAD_DURATION}_count`, labels)).toBe(3);
    expect(await samples(register, M.CACHE_ENTRIES)).toEqual([[{ scope: 'users' }, 3]]);
    expect(await samples(register, M.CACHE_ENTRY_LIMIT)).toEqual([[{ scope: 'users' }, 100]]);
    expect(await samples(register, M.CACHE_LOAD_ERRORS)).toEqual([]);
  });

  it('counts load errors and stale hits by reason, evictions, timeouts, L2 hits and L2 errors', async () => {
    const store = new MemoryStore();
    await new Cache({ store }).scope('s').set('a', 1);
    const cache = new Cache({ store, maxSize: 2, hardTimeout: '100ms', ttl: '1s', failSafe: '1m' });
    setUp({ cache });
    const s = cache.scope<number>('s');
    expect(await s.getOrSet('a', async () => 0)).toBe(1); // from the L2
    await s.getOrSet('b', async () => 2);
    await s.getOrSet('c', async () => 3); // evicts 'a'
    const hung = s.getOrSet('d', () => new Promise<number>(() => undefined));
    const timedOut = expect(hung).rejects.toThrow();
    await jest.advanceTimersByTimeAsync(1_000); // the hard timeout; 'b' and 'c' are stale now
    await timedOut;
    expect(await s.getOrSet('b', async () => Promise.reject(new TypeError('down')))).toBe(2); // stale

    class UnreadableStore extends MemoryStore {
      override getMany(): ReturnType<CacheStore['getMany']> {
        return Promise.reject(new RangeError('L2 down'));
      }
    }
    const degraded = new Cache({ store: new UnreadableStore() });
    const other = setUp({ cache: degraded, register: new Registry() });
    expect(await degraded.scope<number>('t').getOrSet('k', async () => 5)).toBe(5);
    other.stop();

    expect(await value(register, M.CACHE_L2_HITS, { scope: 's' })).toBe(1);
    expect(await value(register, M.CACHE_EVICTIONS, { scope: 's' })).toBe(1);
    expect(await samples(register, M.CACHE_TIMEOUTS)).toEqual([[{ scope: 's', kind: 'hard' }, 1]]);
    expect(await samples(register, M.CACHE_LOAD_ERRORS)).toEqual([[{ scope: 's', background: 'false', error_type: 'TypeError' }, 1]]);
    expect(await samples(register, M.CACHE_STALE_HITS)).toEqual([[{ scope: 's', reason: 'error' }, 1]]);
    expect(await samples(register, M.CACHE_L2_ERRORS)).toEqual([]); // the degraded cache's went to the other registry
  });

  it('counts L2 errors by operation and error type', async () => {
    class UnreadableStore extends MemoryStore {
      override getMany(): ReturnType<CacheStore['getMany']> {
        return Promise.reject(new RangeError('L2 down'));
      }
    }
    const cache = new Cache({ store: new UnreadableStore() });
    setUp({ cache });
    expect(await cache.scope<number>('t').getOrSet('k', async () => 5)).toBe(5);
    expect(await samples(register, M.CACHE_L2_ERRORS)).toEqual([[{ scope: 't', operation: 'get', error_type: 'RangeError' }, 1]]);
  });

  it('never labels by key', async () => {
    const cache = new Cache();
    setUp({ cache });
    const get = cache.cached(async (email: string) => email.length, { name: 'byEmail' });
    await get('ada@example.com');
    expect(await register.metrics()).not.toContain('ada@example.com');
  });

  it('stop() unsubscribes and unregisters every metric; a second instrument() on one registry throws and leaves the first intact', async () => {
    const cache = new Cache();
    const first = setUp({ cache });
    expect(() => instrument({ cache: new Cache(), register })).toThrow(/already been registered/);
    await cache.cached(async (n: number) => n, { name: 'n' })(1);
    expect(await value(register, M.CACHE_LOADS, { scope: 'n', background: 'false', outcome: 'success' })).toBe(1);
    first.stop();
    first.stop();
    expect(await register.metrics()).toBe('\n');
  });
});

describe('a ResilienceRegistry', () => {
  it('counts retries, calls by outcome, timeouts, rejections, fallbacks and breaker transitions and state', async () => {
    const registry = new ResilienceRegistry();
    const payments = registry.resilient({ circuitBreaker: { name: 'payments', failureThreshold: 2 } });
    setUp({ registry });

    let attempts = 0;
    const flaky = registry.resilient({ retry: { maxAttempts: 3, delay: 100, backoffFactor: 1, jitter: false } })(async function flaky() {
      await sleep(10);
      if (++attempts < 3) throw new Error('flaky');
      return 'ok';
    });
    const call = flaky();
    await jest.advanceTimersByTimeAsync(230);
    expect(await call).toBe('ok');

    const slow = registry.resilient({ timeout: '50ms' })(async function slow() {
      await sleep(1_000);
    });
    const timedOut = expect(slow()).rejects.toThrow();
    await jest.advanceTimersByTimeAsync(50);
    await timedOut;

    const gated = registry.resilient({ bulkhead: { maxConcurrent: 1, maxQueue: 0 } })(async function gated() {
      await sleep(10);
    });
    const first = gated();
    await expect(gated()).rejects.toThrow();
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

    const pay = payments(async function pay(): Promise<void> {
      throw new Error('declined');
    });
    await expect(pay()).rejects.toThrow();
    await expect(pay()).rejects.toThrow(); // opens

    expect(await samples(register, M.RETRIES)).toEqual([[{ function: 'flaky', error_type: 'Error' }, 2]]);
    expect(await samples(register, M.CALLS)).toEqual([
      [{ function: 'flaky', outcome: 'success' }, 1],
      [{ function: 'gated', outcome: 'failure' }, 1],
      [{ function: 'gated', outcome: 'success' }, 1],
      [{ function: 'limited', outcome: 'failure' }, 1],
      [{ function: 'limited', outcome: 'success' }, 1],
      [{ function: 'pay', outcome: 'failure' }, 2],
      [{ function: 'safe', outcome: 'fallback' }, 1],
      [{ function: 'slow', outcome: 'failure' }, 1],
    ]);
    expect(await value(register, `${M.CALL_DURATION}_sum`, { function: 'flaky', outcome: 'success' })).toBeCloseTo(0.23, 10);
    expect(await samples(register, M.TIMEOUTS)).toEqual([[{ function: 'slow' }, 1]]);
    expect(await samples(register, M.BULKHEAD_REJECTIONS)).toEqual([[{ function: 'gated' }, 1]]);
    expect(await samples(register, M.RATE_LIMITER_REJECTIONS)).toEqual([[{ function: 'limited' }, 1]]);
    expect(await samples(register, M.FALLBACKS)).toEqual([[{ function: 'safe', error_type: 'RangeError' }, 1]]);
    expect(await samples(register, M.CIRCUIT_TRANSITIONS)).toEqual([[{ breaker: 'payments', state: 'open' }, 1]]);
    expect(await samples(register, M.CIRCUIT_STATE)).toEqual([
      [{ breaker: 'payments', state: 'closed' }, 0],
      [{ breaker: 'payments', state: 'half_open' }, 0],
      [{ breaker: 'payments', state: 'isolated' }, 0],
      [{ breaker: 'payments', state: 'open' }, 1],
    ]);
  });

  it("instruments the registry's cache, counting each hit once", async () => {
    const registry = new ResilienceRegistry();
    setUp({ registry, cache: registry.cache });
    const getUser = registry.resilient({ cache: { ttl: '1m' } })(async function getUser(id: number) {
      return { id };
    });
    await getUser(1);
    await getUser(1);
    await getUser(1);
    expect(await samples(register, M.CACHE_REQUESTS)).toEqual([
      [{ scope: 'getUser', result: 'hit' }, 2],
      [{ scope: 'getUser', result: 'miss' }, 1],
    ]);
    expect(await samples(register, M.CALLS)).toEqual([[{ function: 'getUser', outcome: 'success' }, 1]]);
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
    expect(await samples(register, M.CACHE_REQUESTS)).toEqual([
      [{ scope: 'getUser', result: 'hit' }, 1000],
      [{ scope: 'getUser', result: 'miss' }, 1],
    ]);
    expect(await samples(register, M.CALLS)).toEqual([[{ function: 'getUser', outcome: 'success' }, 1]]);
  });

  it('refuses options without a cache or a registry', () => {
    expect(() => instrument({ register })).toThrow(/needs a `cache`, a `registry`, or both/);
    expect(() => instrument({ registry: {} as ResilienceRegistry, register })).toThrow(TypeError);
  });
});
