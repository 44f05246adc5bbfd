import { Cache } from './Cache';
import type { BatchLoaderOptions, BatchLoadFn } from './BatchLoader';
import { isBatchLoadError } from './errors/BatchLoadError';
import { defer as deferred } from '../test/defer';

/** A promise's outcome, captured as soon as it is created so that no rejection goes unhandled. */
type Outcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

function outcome<V>(promise: Promise<V>): Promise<Outcome<V>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function setup<V>(fn: BatchLoadFn<V>, options?: BatchLoaderOptions<V>) {
  const cache = new Cache();
  const scope = cache.scope<V>('users');
  const batchFn = jest.fn(fn);
  const loader = scope.batchLoader(batchFn, options);
  return { cache, scope, batchFn, loader };
}

/** A batch function answering `value:<key>` for each key, as an array aligned with the keys. */
const echo: BatchLoadFn<string> = (keys) => Promise.resolve(keys.map((k) => `value:${k}`));

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('BatchLoader: one batch per window', () => {
  it('runs the batch function once, after the default 5 ms window, with every key loaded in the window', async () => {
    const { batchFn, loader } = setup(echo);
    const a = loader.load('a');
    const b = loader.load('b');
    await jest.advanceTimersByTimeAsync(4);
    expect(batchFn).not.toHaveBeenCalled();
    const c = loader.load('c'); // still inside the first key's window
    await jest.advanceTimersByTimeAsync(1);
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith(['a', 'b', 'c']);
    await expect(Promise.all([a, b, c])).resolves.toEqual(['value:a', 'value:b', 'value:c']);
  });

  it('maps an array result back to the keys by position', async () => {
    const { loader } = setup<number>((keys) => Promise.resolve(keys.map((k) => Number(k) * 10)));
    const loads = Promise.all(['3', '1', '2'].map((k) => loader.load(k)));
    await jest.advanceTimersByTimeAsync(5);
    await expect(loads).resolves.toEqual([30, 10, 20]);
  });

  it('maps a Map result back to the keys by key, whatever the Map order', async () => {
    const { loader } = setup<string>((keys) =>
      Promise.resolve(new Map([...keys].reverse().map((k) => [k, `user ${k}`] as const))),
    );
    const loads = Promise.all([loader.load('1'), loader.load('2'), loader.load('3')]);
    await jest.advanceTimersByTimeAsync(5);
    await expect(loads).resolves.toEqual(['user 1', 'user 2', 'user 3']);
  });

  it('maps a plain object result back to the keys by key', async () => {
    const { loader } = setup<{ id: string }>((keys) =>
      Promise.resolve(Object.fromEntries(keys.map((k) => [k, { id: k }]))),
    );
    const loads = Promise.all([loader.load('x'), loader.load('y')]);
    await jest.advanceTimersByTimeAsync(5);
    await expect(loads).resolves.toEqual([{ id: 'x' }, { id: 'y' }]);
  });

  it('honours a custom windowMs given as a duration string', async () => {
    const { batchFn, loader } = setup(echo, { windowMs: '20ms' });
    const a = loader.load('a');
    await jest.advanceTimersByTimeAsync(19);
    const b = loader.load('b');
    expect(batchFn).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith(['a', 'b']);
    await expect(Promise.all([a, b])).resolves.toEqual(['value:a', 'value:b']);
  });

  it('starts a new batch for loads made after a batch was sent', async () => {
    const { batchFn, loader } = setup(echo);
    const first = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    const second = loader.load('b');
    await jest.advanceTimersByTimeAsync(5);
    expect(batchFn.mock.calls).toEqual([[['a']], [['b']]]);
    await expect(Promise.all([first, second])).resolves.toEqual(['value:a', 'value:b']);
  });

  it('loadMany resolves to the values in the order of the keys, with one batch call', async () => {
    const { batchFn, loader } = setup(echo);
    const many = loader.loadMany(['k2', 'k1', 'k3']);
    await jest.advanceTimersByTimeAsync(5);
    await expect(many).resolves.toEqual(['value:k2', 'value:k1', 'value:k3']);
    expect(batchFn).toHaveBeenCalledTimes(1);
  });
});

describe('BatchLoader: maxBatchSize', () => {
  it('splits 250 keys into batches of 100, 100 and 50, sending full batches without waiting', async () => {
    const { batchFn, loader } = setup(echo, { maxBatchSize: 100 });
    const keys = Array.from({ length: 250 }, (_, i) => `k${i}`);
    const many = loader.loadMany(keys);
    // The two full batches go out at once; the last 50 keys wait for the window.
    expect(batchFn).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(5);
    expect(batchFn).toHaveBeenCalledTimes(3);
    expect(batchFn.mock.calls.map(([batch]) => batch.length)).toEqual([100, 100, 50]);
    expect(batchFn.mock.calls.flatMap(([batch]) => batch)).toEqual(keys);
    await expect(many).resolves.toEqual(keys.map((k) => `value:${k}`));
  });

  it('defaults to batches of at most 100 keys', async () => {
    const { batchFn, loader } = setup(echo);
    const many = loader.loadMany(Array.from({ length: 101 }, (_, i) => `k${i}`));
    await jest.advanceTimersByTimeAsync(5);
    await many;
    expect(batchFn.mock.calls.map(([batch]) => batch.length)).toEqual([100, 1]);
  });
});

describe('BatchLoader: cache and in-flight keys', () => {
  it('answers fresh keys from the scope: they never reach the batch function', async () => {
    const { scope, batchFn, loader } = setup(echo);
    await scope.set('a', 'cached a');
    const many = loader.loadMany(['a', 'b']);
    await jest.advanceTimersByTimeAsync(5);
    await expect(many).resolves.toEqual(['cached a', 'value:b']);
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith(['b']);
  });

  it('sends a key loaded twice in one window only once', async () => {
    const { batchFn, loader } = setup(echo);
    const many = loader.loadMany(['a', 'b', 'a']);
    const again = loader.load('b');
    await jest.advanceTimersByTimeAsync(5);
    await expect(many).resolves.toEqual(['value:a', 'value:b', 'value:a']);
    await expect(again).resolves.toBe('value:b');
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith(['a', 'b']);
  });

  it('lets a key whose batch is still loading join that load instead of joining the next batch', async () => {
    const slow = deferred<string[]>();
    const { batchFn, loader } = setup<string>((keys) => (keys[0] === 'a' ? slow.promise : echo(keys)));
    const first = outcome(loader.load('a'));
    await jest.advanceTimersByTimeAsync(5);
    expect(batchFn).toHaveBeenCalledTimes(1); // the batch of 'a' is sent, and still pending

    const joined = outcome(loader.load('a'));
    const other = loader.load('b');
    await jest.advanceTimersByTimeAsync(5);
    expect(batchFn).toHaveBeenCalledTimes(2);
    expect(batchFn.mock.calls[1]).toEqual([['b']]);
    await expect(other).resolves.toBe('value:b');

    slow.resolve(['slow a']);
    await expect(first).resolves.toEqual({ ok: true, value: 'slow a' });
    await expect(joined).resolves.toEqual({ ok: true, value: 'slow a' });
    expect(batchFn).toHaveBeenCalledTimes(2);
  });

  it('stores results in the scope, so a later load is a hit that calls nothing', async () => {
    const { scope, batchFn, loader } = setup(echo);
    const many = loader.loadMany(['a', 'b']);
    await jest.advanceTimersByTimeAsync(5);
    await many;
    expect(scope.stats()).toMatchObject({ hits: 0, misses: 2, size: 2 });
    await expect(scope.get('b')).resolves.toBe('value:b');

    const again = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    await expect(again).resolves.toBe('value:a');
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(scope.stats()).toMatchObject({ hits: 2, misses: 2 }); // scope.get('b') and load('a')
  });

  it('applies its ttl load option to what it stores', async () => {
    const { batchFn, loader } = setup(echo, { ttl: '1s' });
    const first = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    await first;

    await jest.advanceTimersByTimeAsync(900);
    const fresh = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    await fresh;
    expect(batchFn).toHaveBeenCalledTimes(1);

    // Past the 1 s TTL, 'a' is loaded again.
    await jest.advanceTimersByTimeAsync(100);
    const expired = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    await expired;
    expect(batchFn).toHaveBeenCalledTimes(2);
    expect(batchFn.mock.calls[1]).toEqual([['a']]);
  });

  it('applies its tags load option, so invalidateTags drops what it stored', async () => {
    const { cache, scope, batchFn, loader } = setup(echo, { tags: ['users'] });
    await scope.set('untagged', 'kept');
    const first = loader.loadMany(['a', 'b']);
    await jest.advanceTimersByTimeAsync(5);
    await first;

    await expect(cache.invalidateTags(['users'])).resolves.toBe(2);
    expect(scope.keys()).toEqual(['untagged']);
    const again = loader.load('a');
    await jest.advanceTimersByTimeAsync(5);
    await expect(again).resolves.toBe('value:a');
    expect(batchFn).toHaveBeenCalledTimes(2);
  });
});

describe('BatchLoader: failures', () => {
  it('fails only the key whose array slot holds an Error, and does not cache it', async () => {
    const notFound = new Error('no user b');
    const { scope, batchFn, loader } = setup<string>((keys) =>
      Promise.resolve(keys.map((k) => (k === 'b' ? notFound : `value:${k}`))),
    );
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    const c = outcome(loader.load('c'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(a).resolves.toEqual({ ok: true, value: 'value:a' });
    await expect(b).resolves.toEqual({ ok: false, error: notFound });
    await expect(c).resolves.toEqual({ ok: true, value: 'value:c' });
    expect(scope.keys().sort()).toEqual(['a', 'c']);

    const retry = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    await retry;
    expect(batchFn).toHaveBeenCalledTimes(2);
    expect(batchFn.mock.calls[1]).toEqual([['b']]);
  });

  it('fails every key of a batch whose function rejects, caches nothing, and calls it again next time', async () => {
    const down = new Error('database down');
    let fail = true;
    const { scope, batchFn, loader } = setup<string>((keys) => (fail ? Promise.reject(down) : echo(keys)));
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(a).resolves.toEqual({ ok: false, error: down });
    await expect(b).resolves.toEqual({ ok: false, error: down });
    expect(scope.size).toBe(0);
    expect(scope.stats().loadErrors).toBe(2);

    fail = false;
    const retry = loader.loadMany(['a', 'b']);
    await jest.advanceTimersByTimeAsync(5);
    await expect(retry).resolves.toEqual(['value:a', 'value:b']);
    expect(batchFn).toHaveBeenCalledTimes(2);
    expect(batchFn.mock.calls[1]).toEqual([['a', 'b']]);
  });

  it('fails every key of a batch whose function throws synchronously, and caches nothing', async () => {
    const boom = new Error('sync boom');
    const { scope, batchFn, loader } = setup<string>(() => {
      throw boom;
    });
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(a).resolves.toEqual({ ok: false, error: boom });
    await expect(b).resolves.toEqual({ ok: false, error: boom });
    expect(scope.size).toBe(0);

    const retry = outcome(loader.load('a'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(retry).resolves.toEqual({ ok: false, error: boom });
    expect(batchFn).toHaveBeenCalledTimes(2);
  });

  it('loadMany rejects with the failure of a failing key', async () => {
    const bad = new Error('bad key');
    const { loader } = setup<string>((keys) => Promise.resolve(keys.map((k) => (k === 'bad' ? bad : k))));
    const many = outcome(loader.loadMany(['ok', 'bad']));
    await jest.advanceTimersByTimeAsync(5);
    await expect(many).resolves.toEqual({ ok: false, error: bad });
  });
});

describe('BatchLoader: broken batch function contract', () => {
  it('fails every key with a BatchLoadError when the array has the wrong length', async () => {
    const { scope, loader } = setup<string>(() => Promise.resolve(['only one']));
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    for (const result of [await a, await b]) {
      expect(result.ok).toBe(false);
      const error = (result as { error: unknown }).error;
      expect(isBatchLoadError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'E_CACHE_BATCH_LOAD', scope: 'users', name: 'BatchLoadError' });
      expect((error as Error).message).toMatch(/returned 1 values for 2 keys/);
    }
    expect(scope.size).toBe(0);
  });

  it('fails every key with a BatchLoadError when the array has more values than keys', async () => {
    const { scope, loader } = setup<string>((keys) => Promise.resolve([...keys, 'extra']));
    const a = outcome(loader.load('a'));
    await jest.advanceTimersByTimeAsync(5);
    const settled = await a;
    const error = (settled as { error: unknown }).error;
    expect(isBatchLoadError(error)).toBe(true);
    expect((error as Error).message).toMatch(/returned 2 values for 1 keys/);
    expect(scope.size).toBe(0);
  });

  it('fails a key missing from a Map with a BatchLoadError naming it, and resolves the others', async () => {
    const { loader } = setup<string>(() => Promise.resolve(new Map([['a', 'value:a']])));
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(a).resolves.toEqual({ ok: true, value: 'value:a' });
    const missing = await b;
    expect(missing.ok).toBe(false);
    const error = (missing as { error: unknown }).error;
    expect(isBatchLoadError(error)).toBe(true);
    expect(error).toMatchObject({ key: 'b', scope: 'users' });
    expect((error as Error).message).toMatch(/returned no value for `b`/);
  });

  it('fails a key missing from a plain object with a BatchLoadError naming it', async () => {
    const { loader } = setup<string>(() => Promise.resolve({ a: 'value:a' }));
    const a = outcome(loader.load('a'));
    const b = outcome(loader.load('b'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(a).resolves.toEqual({ ok: true, value: 'value:a' });
    const missing = await b;
    const error = (missing as { error: unknown }).error;
    expect(isBatchLoadError(error)).toBe(true);
    expect((error as Error).message).toMatch(/no value for `b`/);
  });

  it('does not read keys inherited from Object.prototype as values of a plain object', async () => {
    const { loader } = setup<unknown>(() => Promise.resolve({}));
    const result = outcome(loader.load('toString'));
    await jest.advanceTimersByTimeAsync(5);
    const settled = await result;
    expect(settled.ok).toBe(false);
    expect(isBatchLoadError((settled as { error: unknown }).error)).toBe(true);
  });

  it('accepts an explicit undefined in a Map (and null in an object) as "not found", and caches it', async () => {
    const { batchFn, loader } = setup<string | null | undefined>((keys) =>
      Promise.resolve(keys[0] === 'm' ? new Map([['m', undefined]]) : { o: null }),
    );
    const m = outcome(loader.load('m'));
    await jest.advanceTimersByTimeAsync(5);
    const o = outcome(loader.load('o'));
    await jest.advanceTimersByTimeAsync(5);
    await expect(m).resolves.toEqual({ ok: true, value: undefined });
    await expect(o).resolves.toEqual({ ok: true, value: null });
    expect(batchFn).toHaveBeenCalledTimes(2);

    const again = loader.loadMany(['m', 'o']);
    await jest.advanceTimersByTimeAsync(5);
    await expect(again).resolves.toEqual([undefined, null]);
    expect(batchFn).toHaveBeenCalledTimes(2);
  });

  it('fails every key with a BatchLoadError when the result is neither an array, a Map nor an object', async () => {
    const { loader } = setup<string>(() => Promise.resolve(null as unknown as string[]));
    const a = outcome(loader.load('a'));
    await jest.advanceTimersByTimeAsync(5);
    const settled = await a;
    const error = (settled as { error: unknown }).error;
    expect(isBatchLoadError(error)).toBe(true);
    expect((error as Error).message).toMatch(/must resolve to an array, a Map or an object/);
  });
});

describe('BatchLoader: bad input', () => {
  it('rejects a batch function that is not a function', () => {
    const scope = new Cache().scope<string>('users');
    expect(() => scope.batchLoader('load users' as unknown as BatchLoadFn<string>)).toThrow(TypeError);
    expect(() => scope.batchLoader(undefined as unknown as BatchLoadFn<string>)).toThrow(/batch loader must be a function/);
  });

  it('rejects a maxBatchSize that is not a positive integer, naming the option', () => {
    const scope = new Cache().scope<string>('users');
    for (const maxBatchSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => scope.batchLoader(echo, { maxBatchSize })).toThrow(RangeError);
      expect(() => scope.batchLoader(echo, { maxBatchSize })).toThrow(/`maxBatchSize`/);
    }
  });

  it('rejects a bad windowMs, naming the option', () => {
    const scope = new Cache().scope<string>('users');
    expect(() => scope.batchLoader(echo, { windowMs: -1 })).toThrow(RangeError);
    expect(() => scope.batchLoader(echo, { windowMs: 'soon' })).toThrow(/`windowMs`/);
  });

  it('rejects bad load options, naming the option', () => {
    const scope = new Cache().scope<string>('users');
    expect(() => scope.batchLoader(echo, { ttl: 'forever' })).toThrow(/`ttl`/);
  });

  it('refuses a key no cache key can hold, and a loadMany without an array, without calling the batch function', async () => {
    const { batchFn, loader } = setup(echo);
    const bad = outcome(loader.load((() => 1) as unknown as string));
    const badMany = outcome(loader.loadMany('abc' as unknown as string[]));
    await jest.advanceTimersByTimeAsync(5);
    const settled = await bad;
    expect(settled.ok).toBe(false);
    expect((settled as { error: unknown }).error).toBeInstanceOf(TypeError);
    const settledMany = await badMany;
    expect((settledMany as { error: unknown }).error).toBeInstanceOf(TypeError);
    expect(((settledMany as { error: Error }).error).message).toMatch(/`loadMany` takes an array of keys/);
    expect(batchFn).not.toHaveBeenCalled();
  });
});

describe('BatchLoader: keys of other types (seed 002 batches integer ids)', () => {
  it('hands the batch function the numbers the callers passed, and stores them under derived keys', async () => {
    const scope = new Cache().scope<string>('users');
    const batchFn = jest.fn((ids: number[]) => Promise.resolve(ids.map((id) => `user ${id * 10}`)));
    const loader = scope.batchLoader(batchFn);
    const answers = Promise.all([loader.load(1), loader.load(2), loader.load(1)]);
    await jest.advanceTimersByTimeAsync(5);
    expect(await answers).toEqual(['user 10', 'user 20', 'user 10']);
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith([1, 2]);
    expect([...scope.keys()].sort()).toEqual(['#1', '#2']);
    // The number 1 and the string '1' are different keys.
    const strings = scope.batchLoader((keys: string[]) => Promise.resolve(keys.map((k) => `text ${k}`)));
    const text = strings.load('1');
    await jest.advanceTimersByTimeAsync(5);
    expect(await text).toBe('text 1');
    expect(await loader.load(1)).toBe('user 10');
    expect(batchFn).toHaveBeenCalledTimes(1);
  });

  it('looks number keys up in a plain object by String(key), and object keys in a Map by identity', async () => {
    const scope = new Cache().scope<string>('users');
    const byNumber = scope.batchLoader((ids: number[]) => Promise.resolve(Object.fromEntries(ids.map((id) => [id, `n${id}`]))));
    const n = Promise.all([byNumber.load(7), byNumber.load(8)]);
    await jest.advanceTimersByTimeAsync(5);
    expect(await n).toEqual(['n7', 'n8']);

    const other = new Cache().scope<string>('orders');
    const seen: Array<{ org: string; id: number }> = [];
    const byObject = other.batchLoader((keys: Array<{ org: string; id: number }>) => {
      seen.push(...keys);
      return Promise.resolve(new Map(keys.map((k) => [k, `${k.org}/${k.id}`])));
    });
    const first = { org: 'acme', id: 1 };
    const o = byObject.load(first);
    await jest.advanceTimersByTimeAsync(5);
    expect(await o).toBe('acme/1');
    expect(seen[0]).toBe(first);
    expect([...other.keys()]).toEqual(['[{"id":1,"org":"acme"}]']);
  });

  it('fails an object key missing from a plain-object answer with a BatchLoadError that says what to return', async () => {
    const scope = new Cache().scope<string>('orders');
    const loader = scope.batchLoader((_keys: Array<{ id: number }>) => Promise.resolve({}));
    const settled = outcome(loader.load({ id: 3 }));
    await jest.advanceTimersByTimeAsync(5);
    const error = ((await settled) as { error: Error }).error;
    expect(isBatchLoadError(error)).toBe(true);
    expect(error.message).toBe(
      'the batch loader of scope `orders` returned no value for `an object`: return a Map keyed by the keys given, or an array in their order',
    );
  });
});
