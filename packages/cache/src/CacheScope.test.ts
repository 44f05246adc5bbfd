import { Cache } from './Cache';
import { cacheEvent } from './events/CacheEvents';
import { uncached } from './uncached';
import type { Uncached } from './uncached';
import type { CacheScope } from './CacheScope';
import { isCacheTimeoutError, CacheTimeoutError } from './errors/CacheTimeoutError';
import { isCacheError } from './errors/CacheError';
import { defer, recordEvents } from '../test/defer';
import { watchUnhandledRejections } from '../test/unhandledRejections';

const { unhandled, drain } = watchUnhandledRejections();

/** Starts a slow load of `k`, runs `during` while it is in flight, then completes it with `value`. */
async function duringLoad(scope: CacheScope<string>, during: () => Promise<unknown>, value = 'loaded'): Promise<string> {
  const slow = defer<string>();
  const loading = scope.getOrSet('k', () => slow.promise);
  await during();
  slow.resolve(value);
  return loading;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('getOrSet', () => {
  it('runs the loader on a miss and answers later calls from the cache', async () => {
    const scope = new Cache().scope<string>('users');
    const loader = jest.fn(async () => 'ann');
    expect(await scope.getOrSet('user:1', loader)).toBe('ann');
    expect(await scope.getOrSet('user:1', loader)).toBe('ann');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(scope.stats()).toMatchObject({ hits: 1, misses: 1, loads: 1, size: 1 });
  });

  it('runs the loader once for 1,000 concurrent callers of a cold key, and leaks nothing', async () => {
    const scope = new Cache().scope<number>('hot');
    const gate = defer<number>();
    const loader = jest.fn(() => gate.promise);
    const calls = Array.from({ length: 1000 }, () => scope.getOrSet('k', loader));
    expect(scope.pendingLoads).toBe(1);
    gate.resolve(7);
    const results = await Promise.all(calls);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r === 7)).toBe(true);
    expect(scope.pendingLoads).toBe(0);
    expect(scope.stats()).toMatchObject({ misses: 1000, loads: 1 });
  });

  it('shares a loader error with every joined caller, caches nothing, and lets the next call retry', async () => {
    const scope = new Cache().scope<number>('s');
    const gate = defer<number>();
    let calls = 0;
    const loader = () => (++calls === 1 ? gate.promise : Promise.resolve(2));
    const waiting = [scope.getOrSet('k', loader), scope.getOrSet('k', loader), scope.getOrSet('k', loader)];
    const boom = new Error('db down');
    gate.reject(boom);
    for (const p of waiting) await expect(p).rejects.toBe(boom);
    expect(scope.pendingLoads).toBe(0);
    expect(await scope.has('k')).toBe(false);
    expect(await scope.getOrSet('k', loader)).toBe(2);
    expect(calls).toBe(2);
    expect(scope.stats().loadErrors).toBe(1);
  });

  it('turns a loader that throws synchronously into a rejection', async () => {
    const scope = new Cache().scope('s');
    await expect(
      scope.getOrSet('k', () => {
        throw new TypeError('bad');
      }),
    ).rejects.toThrow('bad');
    expect(scope.pendingLoads).toBe(0);
  });

  it('rejects a non-string key and a non-function loader with a TypeError', async () => {
    const scope = new Cache().scope('s');
    await expect(scope.getOrSet(42 as never, () => 1)).rejects.toThrow(/a cache key must be a string, got 42.*makeKey/);
    await expect(scope.getOrSet('k', 'nope' as never)).rejects.toThrow(/loader of `getOrSet` must be a function/);
  });

  it('applies per-call options over the scope', async () => {
    const scope = new Cache({ ttl: '1m' }).scope<number>('s');
    await scope.getOrSet('short', async () => 1, { ttl: '1s' });
    await scope.getOrSet('long', async () => 2);
    await jest.advanceTimersByTimeAsync(1500);
    expect(await scope.has('short')).toBe(false);
    expect(await scope.has('long')).toBe(true);
  });
});

describe('expiry', () => {
  it('expires entries after their TTL', async () => {
    const scope = new Cache({ ttl: '10s' }).scope<number>('s');
    const loader = jest.fn(async () => 1);
    await scope.getOrSet('k', loader);
    await jest.advanceTimersByTimeAsync(9_999);
    await scope.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await scope.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('adds jitter to the expiry in whole ms, up to the jitter', async () => {
    for (const [random, expiresAfter] of [
      [0.1234, 10_123], // 123.4 ms of jitter → 123
      [0.99999, 11_000], // rounds up to the whole jitter, never past it
    ] as const) {
      const scope = new Cache().scope<number>(`jitter${random}`, { ttl: '10s', jitter: '1s' });
      const spy = jest.spyOn(Math, 'random').mockReturnValue(random);
      await scope.getOrSet('k', async () => 1);
      spy.mockRestore();
      const loader = jest.fn(async () => 2);
      await jest.advanceTimersByTimeAsync(expiresAfter - 1);
      expect(await scope.getOrSet('k', loader)).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(await scope.getOrSet('k', loader)).toBe(2);
    }
  });

  it.each([0, null, Number.POSITIVE_INFINITY])('never expires entries with ttl %p', async (ttl) => {
    const scope = new Cache().scope<number>('s', { ttl });
    const loader = jest.fn(async () => 1);
    await scope.getOrSet('k', loader);
    await jest.advanceTimersByTimeAsync(365 * 24 * 3600 * 1000);
    await scope.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('gives each set its own TTL, and ttl null means no expiry', async () => {
    const scope = new Cache({ ttl: '5m' }).scope<string>('s');
    await scope.set('session', 'a', { ttl: '1h' });
    await scope.set('temp', 'b', { ttl: '1m' });
    await scope.set('forever', 'c', { ttl: null });
    await scope.set('default', 'd');
    await jest.advanceTimersByTimeAsync(2 * 60_000);
    expect(await scope.getMany(['session', 'temp', 'forever', 'default'])).toEqual(['a', undefined, 'c', 'd']);
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(await scope.getMany(['session', 'forever', 'default'])).toEqual([undefined, 'c', undefined]);
  });

  it('derives the TTL from the value when ttl is a function', async () => {
    const scope = new Cache().scope<{ plan: string }>('s', { ttl: (v) => (v.plan === 'pro' ? '1h' : '1m') });
    await scope.set('a', { plan: 'pro' });
    await scope.set('b', { plan: 'free' });
    await jest.advanceTimersByTimeAsync(2 * 60_000);
    expect(await scope.has('a')).toBe(true);
    expect(await scope.has('b')).toBe(false);
  });

  it('spreads expiries with jitter, within [ttl, ttl + jitter]', async () => {
    const scope = new Cache().scope<number>('s', { ttl: '60s', jitter: '10s', maxSize: 500 });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await scope.setMany(keys.map((k, i) => [k, i] as const));
    await jest.advanceTimersByTimeAsync(60_000 - 1);
    expect((await scope.getMany(keys)).every((v) => v !== undefined)).toBe(true);
    await jest.advanceTimersByTimeAsync(5_001);
    const alive = (await scope.getMany(keys)).filter((v) => v !== undefined).length;
    // Uniform jitter over 10 s: about half expire in the first 5 s. Generous bounds: 200 draws.
    expect(alive).toBeGreaterThan(40);
    expect(alive).toBeLessThan(160);
    await jest.advanceTimersByTimeAsync(5_000);
    expect((await scope.getMany(keys)).every((v) => v === undefined)).toBe(true);
  });
});

describe('fail-safe', () => {
  const options = { ttl: '1s', failSafe: '10s', failSafeThrottle: '2s' } as const;

  it('serves the stale value after a factory error inside the window, and throws after it', async () => {
    const cache = new Cache(options);
    const events = recordEvents(cache);
    const scope = cache.scope<string>('s');
    await scope.getOrSet('k', async () => 'v1');
    await jest.advanceTimersByTimeAsync(1_500);
    const failing = jest.fn(async (): Promise<string> => {
      throw new Error('backend down');
    });
    expect(await scope.getOrSet('k', failing)).toBe('v1');
    expect(failing).toHaveBeenCalledTimes(1);
    expect(events.filter((e) => e.type === 'CACHE_STALE_HIT').map((e) => e.reason)).toEqual(['error']);
    expect(scope.stats()).toMatchObject({ staleHits: 1, loadErrors: 1 });

    await jest.advanceTimersByTimeAsync(10_000); // past ttl + failSafe
    await expect(scope.getOrSet('k', failing)).rejects.toThrow('backend down');
  });

  it('never serves a stale value on a plain hit', async () => {
    const scope = new Cache(options).scope<string>('s');
    await scope.getOrSet('k', async () => 'old');
    await jest.advanceTimersByTimeAsync(1_500);
    expect(await scope.get('k')).toBeUndefined();
    expect(await scope.getOrSet('k', async () => 'new')).toBe('new');
  });

  it('waits failSafeThrottle before asking a failing factory again', async () => {
    const cache = new Cache(options);
    const events = recordEvents(cache);
    const scope = cache.scope<string>('s');
    await scope.getOrSet('k', async () => 'v1');
    await jest.advanceTimersByTimeAsync(1_500);
    const failing = jest.fn(async (): Promise<string> => {
      throw new Error('down');
    });
    await scope.getOrSet('k', failing);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await scope.getOrSet('k', failing)).toBe('v1');
    expect(failing).toHaveBeenCalledTimes(1);
    expect(events.at(-1)).toMatchObject({ type: 'CACHE_STALE_HIT', reason: 'throttle' });
    await jest.advanceTimersByTimeAsync(1_001);
    expect(await scope.getOrSet('k', failing)).toBe('v1');
    expect(failing).toHaveBeenCalledTimes(2);
    expect(await scope.getOrSet('k', async () => 'v2')).toBe('v1'); // throttled again after the 2nd failure
    await jest.advanceTimersByTimeAsync(2_001);
    expect(await scope.getOrSet('k', async () => 'v2')).toBe('v2');
  });

  it('emits a miss for every miss it counts, throttled ones included', async () => {
    const cache = new Cache(options);
    const events = recordEvents(cache);
    const scope = cache.scope<string>('s');
    await scope.getOrSet('k', async () => 'v1');
    await jest.advanceTimersByTimeAsync(1_500);
    const failing = () => Promise.reject(new Error('down'));
    await scope.getOrSet('k', failing);
    await scope.getOrSet('k', failing); // throttled
    expect(events.filter((e) => e.type === 'CACHE_MISS')).toHaveLength(scope.stats().misses);
    expect(events.filter((e) => e.type === 'CACHE_STALE_HIT')).toHaveLength(scope.stats().staleHits);
  });

  it('throws without a stale value', async () => {
    const scope = new Cache(options).scope<string>('s');
    await expect(scope.getOrSet('k', () => Promise.reject(new Error('cold and down')))).rejects.toThrow('cold and down');
  });
});

describe('timeouts', () => {
  /** A stale entry 'old', then a slow reload that a 100 ms soft timeout answers with it. */
  async function staleThenSlowReload() {
    const cache = new Cache({ ttl: '1s', failSafe: '1m', softTimeout: '100ms' });
    const events = recordEvents(cache);
    const scope = cache.scope<string>('s');
    await scope.getOrSet('k', async () => 'old');
    await jest.advanceTimersByTimeAsync(2_000);
    const slow = defer<string>();
    const answer = scope.getOrSet('k', () => slow.promise);
    await jest.advanceTimersByTimeAsync(100);
    return { events, scope, slow, answer };
  }

  it('soft timeout answers with the stale value, then the factory refreshes the entry in the background', async () => {
    const { events, scope, slow, answer } = await staleThenSlowReload();
    await expect(answer).resolves.toBe('old');
    expect(events.some((e) => e.type === 'CACHE_TIMEOUT' && e.timeout === 'soft')).toBe(true);
    expect(await scope.get('k')).toBeUndefined(); // still stale: never served on a plain read
    slow.resolve('new');
    await jest.advanceTimersByTimeAsync(0);
    expect(await scope.get('k')).toBe('new');
  });

  it('reports the late completion of a timed-out factory as a background refresh', async () => {
    const { events, slow, answer } = await staleThenSlowReload();
    await answer;
    await jest.advanceTimersByTimeAsync(400);
    slow.resolve('new');
    await jest.advanceTimersByTimeAsync(0);
    expect(events.filter((e) => e.type === 'CACHE_REFRESH')).toEqual([
      expect.objectContaining({ key: 's:k', durationMs: 500 }),
    ]);
  });

  it('soft timeout without a stale value keeps waiting for the factory', async () => {
    const scope = new Cache({ softTimeout: '100ms' }).scope<string>('s');
    const slow = defer<string>();
    let settled = false;
    const answer = scope.getOrSet('k', () => slow.promise).then((v) => {
      settled = true;
      return v;
    });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    slow.resolve('v');
    await expect(answer).resolves.toBe('v');
  });

  it('hard timeout rejects with CacheTimeoutError when there is no stale value; the late result is still stored', async () => {
    const scope = new Cache({ hardTimeout: '2s' }).scope<string>('s');
    const slow = defer<string>();
    const answer = scope.getOrSet('k', () => slow.promise);
    const assertion = expect(answer).rejects.toBeInstanceOf(CacheTimeoutError);
    await jest.advanceTimersByTimeAsync(2_000);
    await assertion;
    const error = await answer.catch((e: unknown) => e);
    expect(isCacheTimeoutError(error)).toBe(true);
    expect(isCacheError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_CACHE_TIMEOUT', key: 's:k', scope: 's', timeoutMs: 2000 });
    slow.resolve('late');
    await jest.advanceTimersByTimeAsync(0);
    expect(await scope.get('k')).toBe('late');
  });

  it('hard timeout answers with the stale value when there is one', async () => {
    const cache = new Cache({ ttl: '1s', failSafe: '1m', hardTimeout: '500ms' });
    const events = recordEvents(cache);
    const scope = cache.scope<string>('s');
    await scope.getOrSet('k', async () => 'old');
    await jest.advanceTimersByTimeAsync(1_000);
    const answer = scope.getOrSet('k', () => new Promise<string>(() => undefined));
    await jest.advanceTimersByTimeAsync(500);
    await expect(answer).resolves.toBe('old');
    expect(events.filter((e) => e.type === 'CACHE_STALE_HIT').map((e) => e.reason)).toEqual(['hard-timeout']);
  });

  it('a factory that fails after a hard timeout causes no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const scope = new Cache({ hardTimeout: '1s' }).scope<string>('s');
      const slow = defer<string>();
      const answer = scope.getOrSet('k', () => slow.promise).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(await answer).toBeInstanceOf(CacheTimeoutError);
      slow.reject(new Error('late failure'));
      jest.useRealTimers();
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
      expect(scope.stats().loadErrors).toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('stuck loads', () => {
  const never = () => new Promise<string>(() => undefined);

  it('after a hard timeout the key stops waiting for the hung load: the next caller runs the loader again', async () => {
    const scope = new Cache({ hardTimeout: '1s' }).scope<string>('s');
    const loader = jest.fn(never);
    const first = scope.getOrSet('k', loader).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await first).toBeInstanceOf(CacheTimeoutError);
    expect(scope.pendingLoads).toBe(0);
    const second = scope.getOrSet('k', async () => 'fresh');
    await expect(second).resolves.toBe('fresh');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(scope.stats()).toMatchObject({ loads: 2, misses: 2 });
  });

  it('a caller that joined before the timeout keeps its own deadline', async () => {
    const scope = new Cache({ hardTimeout: '1s' }).scope<string>('s');
    const slow = defer<string>();
    const first = scope.getOrSet('k', () => slow.promise).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(600);
    const joined = scope.getOrSet('k', never);
    await jest.advanceTimersByTimeAsync(400);
    expect(await first).toBeInstanceOf(CacheTimeoutError);
    slow.resolve('late');
    await expect(joined).resolves.toBe('late');
    expect(await scope.get('k')).toBe('late');
  });

  it('a timed-out load that completes late never replaces the value of a newer load', async () => {
    const scope = new Cache({ hardTimeout: '1s' }).scope<string>('s');
    const old = defer<string>();
    const first = scope.getOrSet('k', () => old.promise).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1_000);
    await first;
    await expect(scope.getOrSet('k', async () => 'new')).resolves.toBe('new');
    old.resolve('old');
    await jest.advanceTimersByTimeAsync(0);
    expect(await scope.get('k')).toBe('new');
  });

  it('a timed-out load that completes late while a newer load runs leaves the key to the newer one', async () => {
    const scope = new Cache({ hardTimeout: '1s' }).scope<string>('s');
    const old = defer<string>();
    const newer = defer<string>();
    const first = scope.getOrSet('k', () => old.promise).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1_000);
    await first;
    const second = scope.getOrSet('k', () => newer.promise);
    old.resolve('old');
    await jest.advanceTimersByTimeAsync(0);
    expect(await scope.get('k')).toBeUndefined();
    newer.resolve('new');
    await expect(second).resolves.toBe('new');
    expect(await scope.get('k')).toBe('new');
  });

  it.each([
    ['remove', (_cache: Cache, scope: CacheScope<string>) => scope.remove('k')],
    ['clear', (_cache: Cache, scope: CacheScope<string>) => scope.clear()],
    ['invalidateTags', (cache: Cache) => cache.invalidateTags(['t'])],
  ] as const)('%s detaches a running load: its callers keep it, the next caller loads afresh', async (_how, act) => {
    const cache = new Cache({ tags: ['t'] });
    const scope = cache.scope<string>('s');
    const hung = defer<string>();
    const waiting = scope.getOrSet('k', () => hung.promise);
    await act(cache, scope);
    expect(scope.pendingLoads).toBe(0);
    await expect(scope.getOrSet('k', async () => 'after')).resolves.toBe('after');
    hung.resolve('before');
    await expect(waiting).resolves.toBe('before');
    expect(await scope.get('k')).toBe('after');
  });

  it('a caller leaves with its own AbortSignal; the load goes on for the others and fills the cache', async () => {
    const scope = new Cache().scope<string>('s');
    const slow = defer<string>();
    const loader = jest.fn(() => slow.promise);
    const controller = new AbortController();
    const leaving = scope.getOrSet('k', loader, { signal: controller.signal });
    const staying = scope.getOrSet('k', loader);
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(leaving).rejects.toBe(reason);
    expect(scope.pendingLoads).toBe(1);
    slow.resolve('v');
    await expect(staying).resolves.toBe('v');
    expect(await scope.get('k')).toBe('v');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('an aborted signal without a reason rejects with an AbortError; an already-aborted caller starts nothing', async () => {
    const scope = new Cache().scope<string>('s');
    const controller = new AbortController();
    const leaving = scope.getOrSet('k', never, { signal: controller.signal });
    controller.abort();
    await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
    const loader = jest.fn(async () => 'v');
    await expect(scope.getOrSet('j', loader, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(loader).not.toHaveBeenCalled();
    expect(scope.pendingLoads).toBe(1);
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const scope = new Cache().scope<string>('s');
    await expect(scope.getOrSet('k', async () => 'v', { signal: 'stop' as never })).rejects.toThrow(
      new TypeError('`signal` must be an AbortSignal, got "stop"'),
    );
  });

  it('close() resolves within its timeout whatever the factories do, and warns how many loads it left', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('users');
    const loads = [scope.getOrSet('a', never), scope.getOrSet('b', never)];
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      let closed = false;
      const closing = cache.close({ timeout: '2s' }).then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(1_999);
      expect(closed).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await closing;
      expect(closed).toBe(true);
      expect(warn.mock.calls).toEqual([
        ['cache.close() stopped waiting after 2000 ms; loads still running: 2 in `users`', { code: 'TOOLKIT_CACHE_CLOSE' }],
      ]);
    } finally {
      warn.mockRestore();
    }
    expect(loads).toHaveLength(2);
  });

  it('close() waits up to 5 s by default, and not at all for loads that settle', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('s');
    const slow = defer<string>();
    const loading = scope.getOrSet('a', () => slow.promise);
    let closed = false;
    const closing = cache.close().then(() => (closed = true));
    await jest.advanceTimersByTimeAsync(100);
    slow.resolve('v');
    await loading;
    await jest.advanceTimersByTimeAsync(0);
    expect(closed).toBe(true);
    await closing;
    const hung = new Cache();
    void hung.scope<string>('s').getOrSet('a', never);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      let done = false;
      const stopping = hung.close().then(() => (done = true));
      await jest.advanceTimersByTimeAsync(4_999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await stopping;
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a close timeout a timer cannot wait', async () => {
    await expect(new Cache().close({ timeout: 2 ** 31 })).rejects.toThrow(RangeError);
    await expect(new Cache().close(null as never)).rejects.toThrow(/`close` options must be an object/);
  });
});

describe('refresh-ahead', () => {
  it('answers from the cache past the threshold and refreshes once in the background', async () => {
    const cache = new Cache({ ttl: '10s', refreshAhead: 0.8 });
    const events = recordEvents(cache);
    const scope = cache.scope<number>('s');
    let version = 0;
    const loader = jest.fn(async () => ++version);
    expect(await scope.getOrSet('k', loader)).toBe(1);
    await jest.advanceTimersByTimeAsync(7_999);
    expect(await scope.getOrSet('k', loader)).toBe(1);
    expect(loader).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    const hits = await Promise.all([scope.getOrSet('k', loader), scope.getOrSet('k', loader), scope.getOrSet('k', loader)]);
    expect(hits).toEqual([1, 1, 1]);
    await jest.advanceTimersByTimeAsync(0);
    expect(loader).toHaveBeenCalledTimes(2);
    expect(await scope.getOrSet('k', loader)).toBe(2);
    expect(events.filter((e) => e.type === 'CACHE_REFRESH')).toHaveLength(1);
  });

  it('keeps the cached value when the background refresh fails', async () => {
    const cache = new Cache({ ttl: '10s', refreshAhead: 0.5 });
    const events = recordEvents(cache);
    const scope = cache.scope<number>('s');
    await scope.getOrSet('k', async () => 1);
    await jest.advanceTimersByTimeAsync(6_000);
    expect(await scope.getOrSet('k', () => Promise.reject(new Error('refresh failed')))).toBe(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(await scope.get('k')).toBe(1);
    expect(events.find((e) => e.type === 'CACHE_LOAD_ERROR')).toMatchObject({ background: true });
  });
});

describe('what gets cached', () => {
  it('caches null and undefined by default, not with cacheNullish: false', async () => {
    const cache = new Cache();
    const loader = jest.fn(async () => null);
    const a = cache.scope<null>('a');
    await a.getOrSet('k', loader);
    await a.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(1);
    const b = cache.scope<null>('b', { cacheNullish: false });
    await b.getOrSet('k', loader);
    await b.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(3);
  });

  it('stores only what shouldCache accepts, but always returns the result', async () => {
    const scope = new Cache().scope<{ status: number }>('s', { shouldCache: (r) => r.status === 200 });
    expect(await scope.getOrSet('bad', async () => ({ status: 500 }))).toEqual({ status: 500 });
    await scope.getOrSet('good', async () => ({ status: 200 }));
    expect(await scope.has('bad')).toBe(false);
    expect(await scope.has('good')).toBe(true);
  });

  it('returns an uncached(value) answer to every waiting caller without storing it', async () => {
    const scope = new Cache().scope<number>('s');
    const gate = defer<number | Uncached<number>>();
    const loader = jest.fn(() => gate.promise);
    const callers = [scope.getOrSet('k', loader), scope.getOrSet('k', loader)];
    gate.resolve(uncached(-1));
    expect(await Promise.all(callers)).toEqual([-1, -1]);
    expect(await scope.has('k')).toBe(false);
    expect(await scope.getOrSet('k', async () => 5)).toBe(5);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('does not let a load that started before a write overwrite it', async () => {
    const scope = new Cache().scope<string>('s');
    expect(await duringLoad(scope, () => scope.set('k', 'written'))).toBe('loaded');
    expect(await scope.get('k')).toBe('written');
  });

  it('does not store a load that was running when its key was removed', async () => {
    const scope = new Cache().scope<string>('s');
    await duringLoad(scope, () => scope.remove('k'));
    expect(await scope.has('k')).toBe(false);
  });
});

describe('LRU per scope', () => {
  it('evicts the least recently used entry of the scope, never more than maxSize', async () => {
    const cache = new Cache();
    const events = recordEvents(cache);
    const scope = cache.scope<number>('s', { maxSize: 3 });
    await scope.set('a', 1);
    await scope.set('b', 2);
    await scope.set('c', 3);
    await scope.get('a');
    await scope.set('d', 4);
    expect(scope.keys()).toEqual(['c', 'a', 'd']);
    expect(scope.size).toBe(3);
    expect(events.filter((e) => e.type === 'CACHE_EVICTION').map((e) => e.key)).toEqual(['s:b']);
    for (let i = 0; i < 100; i++) await scope.set(`x${i}`, i);
    expect(scope.size).toBe(3);
    expect(scope.stats()).toMatchObject({ evictions: 101, size: 3, maxSize: 3 });
  });

  it('bounds each scope on its own, not the whole cache', async () => {
    const cache = new Cache({ maxSize: 2 });
    const a = cache.scope('a');
    const b = cache.scope('b', { maxSize: 5 });
    for (let i = 0; i < 10; i++) {
      await a.set(`k${i}`, i);
      await b.set(`k${i}`, i);
    }
    expect(a.size).toBe(2);
    expect(b.size).toBe(5);
    expect(cache.stats()).toMatchObject({ size: 7, maxSize: 7 });
  });
});

describe('scope options', () => {
  it('inherit the cache defaults where omitted and replace them where given', async () => {
    const cache = new Cache({ ttl: '2m', failSafe: '10m', maxSize: 1000, jitter: 0 });
    const scope = cache.scope('products', { ttl: '30s', maxSize: 500 });
    expect(scope.maxSize).toBe(500);
    expect(scope.policy).toMatchObject({ ttl: 30_000, failSafe: 600_000 });
    expect(cache.scope('other').policy).toMatchObject({ ttl: 120_000, failSafe: 600_000 });
    expect(cache.scope('other').maxSize).toBe(1000);
  });
});

describe('direct operations', () => {
  it('get / set / has / remove / clear', async () => {
    const scope = new Cache().scope<string>('users');
    await scope.set('user:123', 'ann');
    expect(await scope.get('user:123')).toBe('ann');
    expect(await scope.has('user:123')).toBe(true);
    expect(await scope.remove('user:123')).toBe(true);
    expect(await scope.remove('user:123')).toBe(false);
    expect(await scope.get('user:123')).toBeUndefined();
    await scope.setMany([
      ['a', '1'],
      ['b', '2'],
    ]);
    await scope.clear();
    expect(scope.size).toBe(0);
  });

  it('getDelete returns the value and removes it', async () => {
    const scope = new Cache().scope<number>('s');
    await scope.set('k', 5);
    expect(await scope.getDelete('k')).toBe(5);
    expect(await scope.getDelete('k')).toBeUndefined();
  });

  it('setIfAbsent stores only when there is no fresh value', async () => {
    const scope = new Cache({ ttl: '1s' }).scope<string>('s');
    expect(await scope.setIfAbsent('k', 'first')).toBe(true);
    expect(await scope.setIfAbsent('k', 'second')).toBe(false);
    expect(await scope.get('k')).toBe('first');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await scope.setIfAbsent('k', 'third')).toBe(true);
  });

  it('incr counts from 0, keeps the expiry of an existing entry, and refuses non-numbers', async () => {
    const scope = new Cache({ ttl: '10s' }).scope<number | string>('s');
    expect(await scope.incr('counter')).toBe(1);
    await jest.advanceTimersByTimeAsync(6_000);
    expect(await scope.incr('counter', 5)).toBe(6);
    await jest.advanceTimersByTimeAsync(4_000);
    expect(await scope.get('counter')).toBeUndefined();
    await scope.set('name', 'ann');
    await expect(scope.incr('name')).rejects.toThrow(/`incr` needs a number at `s:name`, found "ann"/);
    await expect(scope.incr('counter', Number.NaN)).rejects.toThrow(TypeError);
  });

  it('deleteByPrefix removes matching keys only', async () => {
    const scope = new Cache().scope<number>('s');
    await scope.setMany([
      ['user:1:profile', 1],
      ['user:1:settings', 2],
      ['user:2:profile', 3],
    ]);
    expect(await scope.deleteByPrefix('user:1:')).toBe(2);
    expect(scope.keys()).toEqual(['user:2:profile']);
  });

  it('deleteMatch removes keys matching a glob, treating other characters literally', async () => {
    const scope = new Cache().scope<number>('s');
    await scope.setMany([
      ['user:1:profile', 1],
      ['user:22:profile', 2],
      ['user:1:settings', 3],
      ['user.1.profile', 4],
      ['user:(1):profile', 5],
    ]);
    expect(await scope.deleteMatch('user:?:profile')).toBe(1);
    expect(await scope.deleteMatch('user:*:profile')).toBe(2);
    expect(scope.keys().sort()).toEqual(['user.1.profile', 'user:1:settings']);
    await expect(scope.deleteMatch('')).rejects.toThrow(/non-empty glob pattern/);
  });

  it('warmup loads every key, reports failures and does not stop at them', async () => {
    const scope = new Cache().scope<string>('config');
    const result = await scope.warmup({
      'config:app': async () => 'app',
      'feature-flags': async () => {
        throw new Error('flags down');
      },
      popular: () => 'p',
    });
    expect(result.loaded.sort()).toEqual(['config:app', 'popular']);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ key: 'feature-flags' });
    expect(await scope.get('config:app')).toBe('app');
    expect(scope.stats()).toMatchObject({ hits: 1, misses: 0, loads: 3, loadErrors: 1 });
    await expect(scope.warmup({ k: 'x' as never })).rejects.toThrow(/warmup loader for `k` must be a function/);
  });

  it('warmup lists a key whose value was not stored (uncached(), shouldCache, nullish) as skipped, not loaded', async () => {
    const scope = new Cache().scope<string | null>('config', { cacheNullish: false, shouldCache: (v) => v !== 'draft' });
    await scope.set('kept', 'old');
    const result = await scope.warmup({
      fresh: async () => 'v1',
      kept: () => uncached('not for the cache'),
      draft: () => 'draft',
      missing: async () => null,
    });
    expect(result.loaded).toEqual(['fresh']);
    expect(result.skipped.sort()).toEqual(['draft', 'kept', 'missing']);
    expect(result.failed).toEqual([]);
    expect(scope.keys().sort()).toEqual(['fresh', 'kept']);
    expect(await scope.get('kept')).toBe('old');
  });

  it('prune removes entries past their fail-safe window, so size is exact again', async () => {
    const scope = new Cache({ ttl: '1s', failSafe: '1s' }).scope<number>('s');
    await scope.set('a', 1);
    await scope.set('b', 2, { ttl: '1h' });
    await jest.advanceTimersByTimeAsync(1_500);
    expect(await scope.prune()).toBe(0); // a is stale, still inside its fail-safe window
    await jest.advanceTimersByTimeAsync(500);
    expect(scope.size).toBe(2);
    expect(await scope.prune()).toBe(1);
    expect(scope.keys()).toEqual(['b']);
  });

  it('rejects bad input without corrupting the scope', async () => {
    const scope = new Cache().scope<number>('s');
    await scope.set('k', 1);
    await expect(scope.set('k', 2, { ttl: -1 })).rejects.toThrow(/`ttl` must not be negative/);
    await expect(scope.setMany([['ok', 3], ['bad'] as never])).rejects.toThrow(/\[key, value\] pairs/);
    expect(await scope.get('k')).toBe(1);
    expect(await scope.has('ok')).toBe(false);
  });
});

describe('tags', () => {
  it('invalidateTags drops tagged entries across scopes and leaves the rest', async () => {
    const cache = new Cache();
    const profiles = cache.scope('profiles');
    const settings = cache.scope('settings');
    await profiles.set('p1', 'x', { tags: ['user:1'] });
    await settings.set('s1', 'y', { tags: ['user:1', 'org:9'] });
    await settings.set('s2', 'z', { tags: ['user:2'] });
    expect(await cache.invalidateTags(['user:1'])).toBe(2);
    expect(await profiles.has('p1')).toBe(false);
    expect(await settings.has('s1')).toBe(false);
    expect(await settings.has('s2')).toBe(true);
    expect(await cache.invalidateTags(['org:9'])).toBe(0);
  });

  it('drops an entry tagged with its own full key, and the entries tagged like it, once each', async () => {
    const cache = new Cache();
    const users = cache.scope('users', { keyPrefix: 'users' });
    const posts = cache.scope('posts', { keyPrefix: 'posts' });
    const plain = cache.scope('plain');
    await users.set('1', 'ada', { tags: ['users:1'] }); // its own full key, as a key template tags it
    await users.set('1:avatar', 'png', { tags: ['users:1'] });
    await posts.set('9', 'post', { tags: ['users:1'] });
    await posts.set('users:1', 'not tagged'); // full key posts:users:1: neither its own key nor tagged
    await plain.set('users:1', 'same text, no tag'); // full key plain:users:1: not the tag either
    expect(await cache.invalidateTags(['users:1'])).toBe(3);
    expect([await users.has('1'), await users.has('1:avatar'), await posts.has('9')]).toEqual([false, false, false]);
    expect(await posts.get('users:1')).toBe('not tagged');
    expect(await plain.get('users:1')).toBe('same text, no tag'); // every scope has a namespace: no other scope's key is users:1
    await users.set('1', 'ada again', { tags: ['users:1'] });
    expect(await cache.invalidateTags(['users:1'])).toBe(1);
    await users.set('1', 'untagged now'); // a rewrite without the tag is still found by its key
    expect(await cache.invalidateTags(['users:1'])).toBe(1);
    expect(await users.get('1')).toBeUndefined();
    expect(await posts.get('users:1')).toBe('not tagged');
  });

  it('invalidateTags([key]) drops the entry at that full key written with scope.set, and a load of it in progress', async () => {
    const cache = new Cache();
    const items = cache.scope<string>('items');
    const prefixed = cache.scope<string>('shop', { keyPrefix: 'shop' });
    await items.set('item:5', 'five'); // no tags at all
    await items.set('item:6', 'six');
    await prefixed.set('5', 'shop five'); // full key shop:5
    expect(items.fullKey('item:5')).toBe('items:item:5');
    expect(await cache.invalidateTags(['items:item:5', 'shop:5'])).toBe(2);
    expect([await items.get('item:5'), await items.get('item:6'), await prefixed.get('5')]).toEqual([undefined, 'six', undefined]);

    // A load of that key running during the invalidation returns its value but does not store it.
    const loading = defer<string>();
    const call = items.getOrSet('item:5', () => loading.promise);
    await cache.invalidateTags(['items:item:5']);
    loading.resolve('loaded before the invalidation');
    expect(await call).toBe('loaded before the invalidation');
    expect(items.getSync('item:5')).toBeUndefined();
  });

  it('accumulates tags from the cache, the scope and the write', async () => {
    const cache = new Cache({ tags: ['app'] });
    const scope = cache.scope('s', { tags: ['users'] });
    await scope.set('k', 1, { tags: ['user:1'] });
    await scope.set('other', 2);
    expect(await cache.invalidateTags(['user:1'])).toBe(1);
    await scope.set('k', 1, { tags: ['user:1'] });
    expect(await cache.invalidateTags(['users'])).toBe(2);
    await scope.set('k', 1);
    expect(await cache.invalidateTags(['app'])).toBe(1);
  });

  it('a tag invalidation leaves loads of untagged or otherwise tagged results alone', async () => {
    const cache = new Cache();
    const tagged = cache.scope<string>('tagged', { tags: ['user:2'] });
    const plain = cache.scope<string>('plain');
    const a = defer<string>();
    const b = defer<string>();
    const loading = [tagged.getOrSet('k', () => a.promise), plain.getOrSet('k', () => b.promise)];
    await cache.invalidateTags(['user:1']);
    a.resolve('a');
    b.resolve('b');
    await Promise.all(loading);
    expect(await tagged.get('k')).toBe('a');
    expect(await plain.get('k')).toBe('b');
  });

  it('a rewrite replaces the tags of a key', async () => {
    const cache = new Cache();
    const scope = cache.scope('s');
    await scope.set('k', 1, { tags: ['old'] });
    await scope.set('k', 2, { tags: ['new'] });
    expect(await cache.invalidateTags(['old'])).toBe(0);
    expect(await cache.invalidateTags(['new'])).toBe(1);
  });

  it('a load running during a tag invalidation does not store its result', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('s', { tags: ['user:1'] });
    await duringLoad(scope, () => cache.invalidateTags(['user:1']));
    expect(await scope.has('k')).toBe(false);
  });
});

describe('events and stats', () => {
  it('emit hit and miss events with scope, full key and time, and count them', async () => {
    const cache = new Cache();
    const events = recordEvents(cache);
    const scope = cache.scope('users', { keyPrefix: 'u' });
    await scope.getOrSet('1', async () => 'ann');
    await scope.getOrSet('1', async () => 'ann');
    await scope.get('2');
    expect(events.map((e) => [e.type, e.scope, e.key])).toEqual([
      ['CACHE_MISS', 'users', 'u:1'],
      ['CACHE_LOAD', 'users', 'u:1'],
      ['CACHE_HIT', 'users', 'u:1'],
      ['CACHE_MISS', 'users', 'u:2'],
    ]);
    expect(events[0]).toMatchObject({ at: Date.now() });
    expect(scope.stats()).toEqual({
      hits: 1,
      misses: 2,
      hitRate: 1 / 3,
      size: 1,
      maxSize: 1000,
      staleHits: 0,
      loads: 1,
      loadErrors: 0,
      evictions: 0,
      l2Hits: 0,
      l2Errors: 0,
    });
    scope.resetStats();
    expect(scope.stats()).toMatchObject({ hits: 0, misses: 0, hitRate: 0, size: 1 });
  });

  it('emit load errors with their duration', async () => {
    const cache = new Cache();
    const scope = cache.scope('s');
    const seen: unknown[] = [];
    scope.on('CACHE_LOAD_ERROR', (e) => seen.push(e));
    const error = new Error('x');
    const loading = scope.getOrSet('k', async () => {
      await new Promise((r) => setTimeout(r, 250));
      throw error;
    });
    const assertion = expect(loading).rejects.toBe(error);
    await jest.advanceTimersByTimeAsync(250);
    await assertion;
    expect(seen).toEqual([expect.objectContaining({ type: 'CACHE_LOAD_ERROR', key: 's:k', error, durationMs: 250, background: false })]);
  });

  it('emit one CACHE_LOAD with its duration per load that answers, in the foreground and in the background', async () => {
    const cache = new Cache({ ttl: '1s', refreshAhead: 0.5 });
    const scope = cache.scope<string>('s');
    const loads: unknown[] = [];
    scope.on('CACHE_LOAD', (e) => loads.push(e));
    const slowly = (value: string) => () => new Promise<string>((r) => setTimeout(r, 40, value));
    const first = Array.from({ length: 3 }, () => scope.getOrSet('k', slowly('a'))); // one load, three callers
    await jest.advanceTimersByTimeAsync(40);
    expect(await Promise.all(first)).toEqual(['a', 'a', 'a']);
    await jest.advanceTimersByTimeAsync(600); // past refreshAhead: a hit reloads in the background
    expect(await scope.getOrSet('k', slowly('b'))).toBe('a');
    await jest.advanceTimersByTimeAsync(40);
    expect(loads).toEqual([
      { type: 'CACHE_LOAD', scope: 's', key: 's:k', at: expect.any(Number), durationMs: 40, background: false },
      { type: 'CACHE_LOAD', scope: 's', key: 's:k', at: expect.any(Number), durationMs: 40, background: true },
    ]);
    expect(scope.stats()).toMatchObject({ loads: 2, loadErrors: 0 });
  });

  it('a throwing listener never breaks a call, and is reported', async () => {
    const reported: unknown[] = [];
    const cache = new Cache({ onListenerError: (e) => reported.push(e) });
    cache.on('*', () => {
      throw new Error('listener bug');
    });
    const scope = cache.scope<number>('s');
    expect(await scope.getOrSet('k', async () => 1)).toBe(1);
    expect(await scope.getOrSet('k', async () => 2)).toBe(1);
    expect(reported).toHaveLength(3); // CACHE_MISS, CACHE_LOAD, CACHE_HIT
  });

  it('a listener whose promise rejects never breaks a call, is reported, and leaves no unhandled rejection', async () => {
    const reported: unknown[] = [];
    const cache = new Cache({ onListenerError: (e) => reported.push(e) });
    const bug = new Error('async listener bug');
    cache.on('*', async () => {
      throw bug;
    });
    const scope = cache.scope<number>('s');
    expect(await scope.getOrSet('k', async () => 1)).toBe(1);
    expect(await scope.getOrSet('k', async () => 2)).toBe(1);
    await drain();
    expect(reported).toEqual([bug, bug, bug]); // CACHE_MISS, CACHE_LOAD, CACHE_HIT
    expect(unhandled).toEqual([]);
  });

  it('refuses listeners of unknown event types', () => {
    expect(() => new Cache().on('CACHE_HITT' as never, () => undefined)).toThrow(/unknown event type "CACHE_HITT": use '\*' or one of CACHE_HIT/);
    expect(() => new Cache().on('*', 'nope' as never)).toThrow(/listener must be a function/);
  });

  it('unsubscribes', async () => {
    const cache = new Cache();
    const seen: string[] = [];
    const off = cache.on('CACHE_MISS', (e) => seen.push(e.key));
    const scope = cache.scope('s');
    await scope.get('a');
    off();
    off();
    await scope.get('b');
    expect(seen).toEqual(['s:a']);
  });
});

describe('events are built only for the types someone listens to', () => {
  afterEach(() => jest.restoreAllMocks());

  it('1,000 hits with a CACHE_MISS listener on the scope and one on the cache build no CACHE_HIT', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('users');
    const hit = jest.spyOn(cacheEvent, 'CACHE_HIT');
    const misses: string[] = [];
    const loads: string[] = [];
    scope.on('CACHE_MISS', (e) => void misses.push(e.key));
    cache.on('CACHE_LOAD', (e) => void loads.push(e.key));
    await scope.getOrSet('k', async () => 'v');
    for (let i = 0; i < 1000; i++) await scope.getOrSet('k', async () => 'other');
    expect(scope.getSync('k')).toBe('v'); // a direct read is a hit too
    expect(hit).toHaveBeenCalledTimes(0);
    expect(misses).toEqual(['users:k']);
    expect(loads).toEqual(['users:k']);
    expect(scope.stats()).toMatchObject({ hits: 1001, misses: 1 });
  });

  it('a miss builds no CACHE_MISS with only a CACHE_HIT listener, and * still receives every event', async () => {
    const cache = new Cache();
    const scope = cache.scope<string>('users');
    const miss = jest.spyOn(cacheEvent, 'CACHE_MISS');
    const hits: string[] = [];
    const off = scope.on('CACHE_HIT', (e) => void hits.push(e.key));
    await scope.getOrSet('k', async () => 'v');
    await scope.getOrSet('k', async () => 'v');
    expect(miss).toHaveBeenCalledTimes(0);
    expect(hits).toEqual(['users:k']);
    off();

    const all: string[] = [];
    cache.on('*', (e) => void all.push(`${e.type} ${e.key}`));
    await scope.getOrSet('k', async () => 'v');
    await scope.getOrSet('j', async () => 'w');
    expect(all).toEqual(['CACHE_HIT users:k', 'CACHE_MISS users:j', 'CACHE_LOAD users:j']);
    expect(hits).toEqual(['users:k']);
    expect(miss).toHaveBeenCalledTimes(1);
  });
});
