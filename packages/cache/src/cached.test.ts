import { Cache } from './Cache';
import { defer, recordEvents } from '../test/defer';

afterEach(() => jest.useRealTimers());

describe('cache.cached()', () => {
  it('answers repeated calls from the cache and keeps the result', async () => {
    const cache = new Cache();
    const fetchUser = jest.fn(async (id: number) => ({ id, name: `user${id}` }));
    const getUser = cache.cached(fetchUser);
    expect(await getUser(42)).toEqual({ id: 42, name: 'user42' });
    expect(await getUser(42)).toEqual({ id: 42, name: 'user42' });
    expect(await getUser(99)).toEqual({ id: 99, name: 'user99' });
    expect(fetchUser).toHaveBeenCalledTimes(2);
  });

  it('caches separately per argument list, stable across object key order', async () => {
    const search = jest.fn(async (q: { query: string; page?: number }) => `${q.query}@${q.page ?? 1}`);
    const cached = new Cache().cached(search);
    await cached({ query: 'ts', page: 1 });
    await cached({ page: 1, query: 'ts' });
    await cached({ query: 'ts', page: 2 });
    expect(search).toHaveBeenCalledTimes(2);
  });

  it('never confuses "1" with 1, or null with undefined', async () => {
    const echo = jest.fn(async (v: unknown) => typeof v);
    const cached = new Cache().cached(echo);
    expect(await cached('1')).toBe('string');
    expect(await cached(1)).toBe('number');
    expect(await cached(null)).toBe('object');
    expect(await cached(undefined)).toBe('undefined');
    expect(echo).toHaveBeenCalledTimes(4);
  });

  it('answers a call with one integer, however it reaches the entry, from the same entry', async () => {
    const fn = jest.fn(async (id: number, extra?: string) => `${id}${extra ?? ''}`);
    const cached = new Cache().cached(fn);
    expect(await cached(42)).toBe('42');
    expect(await cached(42, undefined)).toBe('42'); // trailing undefined: the same call, through the key string
    expect(await cached.scope.getOrSet('#42', async () => 'other')).toBe('42');
    expect(cached.scope.keys()).toEqual(['#42']);
    expect(await cached.invalidate(42)).toBe(true);
    expect(await cached(42)).toBe('42');
    expect(fn).toHaveBeenCalledTimes(2);
    expect(await cached.refresh(42)).toBe('42');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('keeps 0 and -0, and integers past the small range, apart and working', async () => {
    const fn = jest.fn(async (n: number) => (Object.is(n, -0) ? 'minus zero' : String(n)));
    const cached = new Cache().cached(fn);
    expect(await cached(0)).toBe('0');
    expect(await cached(-0)).toBe('minus zero');
    expect(await cached(2 ** 40)).toBe(String(2 ** 40));
    expect(await cached(1.5)).toBe('1.5');
    for (const n of [0, -0, 2 ** 40, 1.5]) await cached(n);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(cached.scope.keys()).toEqual(['#0', '#-0', `#${2 ** 40}`, '#1.5']);
  });

  it('passes `this` and the integer to the function on a miss, and tags by it', async () => {
    const cache = new Cache();
    const seen: unknown[] = [];
    const cached = cache.cached(
      async function (this: unknown, id: number) {
        seen.push(this, id);
        return id * 2;
      },
      { name: 'double', tags: (id: number) => [`n:${id}`] },
    );
    const owner = { cached };
    expect(await owner.cached(21)).toBe(42);
    expect(seen).toEqual([owner, 21]);
    expect(await cache.invalidateTags(['n:21'])).toBe(1);
    expect(cached.scope.keys()).toEqual([]);
  });

  it('treats f() and f(undefined) as one call', async () => {
    const fn = jest.fn(async (page?: number) => page ?? 1);
    const cached = new Cache().cached(fn);
    await cached();
    await cached(undefined);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('gives every function its own scope, so equal arguments never collide', async () => {
    const cache = new Cache();
    const double = cache.cached(async (n: number) => n * 2);
    const square = cache.cached(async (n: number) => n * n);
    expect(await double(3)).toBe(6);
    expect(await square(3)).toBe(9);
    expect(double.scope).not.toBe(square.scope);
    expect(double.keyFor(3)).not.toBe(square.keyFor(3));
  });

  it('names scopes after functions, uniquely', () => {
    const cache = new Cache();
    const getUser = cache.cached(async function getUser(id: number) {
      return id;
    });
    const again = cache.cached(async function getUser(id: number) {
      return id;
    });
    expect(getUser.scope.name).toBe('getUser');
    expect(again.scope.name).toBe('getUser#2');
    expect(getUser.keyFor(1)).toBe('getUser:#1');
    expect(again.keyFor(1)).toBe('getUser#2:#1');
    expect(getUser.name).toBe('getUser');
  });

  it('stampede: 1,000 concurrent cold calls run the function once', async () => {
    const gate = defer<string>();
    const fn = jest.fn((_id: number) => gate.promise);
    const cached = new Cache().cached(fn);
    const calls = Array.from({ length: 1000 }, () => cached(7));
    gate.resolve('v');
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']));
    expect(fn).toHaveBeenCalledTimes(1);
    expect(cached.scope.pendingLoads).toBe(0);
  });

  it('builds keys from a template filled from the object argument, under the scope name, tagged with the filled template', async () => {
    const cache = new Cache();
    const getUser = cache.cached(async ({ userId }: { userId: number }) => ({ userId }), { key: 'user:{userId}', name: 'getUser' });
    expect(getUser.keyFor({ userId: 5 })).toBe('getUser:user:5');
    await getUser({ userId: 5 });
    expect(await cache.invalidateTags(['user:5'])).toBe(1);
    expect(getUser.scope.size).toBe(0);
  });

  it('builds keys from positional templates and from key functions', async () => {
    const cache = new Cache();
    const product = cache.cached(async (id: number, lang: string) => `${id}/${lang}`, { key: 'product:{0}:{1}' });
    expect(product.keyFor(3, 'en')).toBe('cached:product:3:en');
    const byFn = cache.cached(async (id: number, lang: string) => `${id}/${lang}`, { key: (id, lang) => `p:${id}:${lang}` });
    expect(byFn.keyFor(3, 'de')).toBe('cached#2:p:3:de');
    const badFn = cache.cached(async (id: number) => id, { key: () => 42 as never });
    await expect(badFn(1)).rejects.toThrow(/`key` function of .* must return a non-empty string, got 42/);
  });

  it('prefixes keys with keyPrefix (seed 004)', async () => {
    const cache = new Cache();
    const details = cache.cached(async (id: string) => ({ id }), { keyPrefix: 'products' });
    expect(details.keyFor('p1')).toBe('products:p1');
    await details('p1');
    expect(await cache.delete('products:p1')).toBe(true);
    expect(details.scope.size).toBe(0);
  });

  it('skips leading arguments in keys with skipArgs', async () => {
    const fn = jest.fn(async (_db: { name: string }, id: number) => id);
    const cached = new Cache().cached(fn, { skipArgs: 1 });
    await cached({ name: 'primary' }, 1);
    await cached({ name: 'replica' }, 1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(() => new Cache().cached(fn, { skipArgs: -1 })).toThrow(/`skipArgs` must be a non-negative integer/);
  });

  it('keeps `this` for methods', async () => {
    class Repo {
      constructor(private readonly prefix: string) {}
      find = new Cache().cached(async function (this: Repo, id: number) {
        return `${this.prefix}${id}`;
      });
    }
    const repo = new Repo('row-');
    expect(await repo.find.call(repo, 1)).toBe('row-1');
  });

  it('refresh() bypasses the cache for one call and stores the new result', async () => {
    let version = 0;
    const status = new Cache().cached(async () => ++version);
    expect(await status()).toBe(1);
    expect(await status()).toBe(1);
    expect(await status.refresh()).toBe(2);
    expect(await status()).toBe(2);
  });

  it('invalidate() removes the entry of one argument list', async () => {
    const fn = jest.fn(async (id: number) => id);
    const cached = new Cache().cached(fn);
    await cached(1);
    await cached(2);
    expect(await cached.invalidate(1)).toBe(true);
    await cached(1);
    await cached(2);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('rejects calls whose arguments cannot form a key, without running the function', async () => {
    const fn = jest.fn(async (_o: unknown) => 1);
    const cached = new Cache().cached(fn);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    await expect(cached(loop)).rejects.toThrow(TypeError);
    await expect(cached(() => 1)).rejects.toThrow(/is a function/);
    expect(fn).not.toHaveBeenCalled();
  });

  it('takes scope options (maxSize per function) and inherits the rest from the cache', async () => {
    jest.useFakeTimers();
    const cache = new Cache({ ttl: '1m', maxSize: 100 });
    const fn = jest.fn(async (n: number) => n);
    const cached = cache.cached(fn, { maxSize: 2 });
    await cached(1);
    await cached(2);
    await cached(3);
    expect(cached.scope.size).toBe(2);
    await jest.advanceTimersByTimeAsync(60_000);
    await cached(3);
    expect(fn).toHaveBeenCalledTimes(4);
  });

  it('can share a scope between functions', async () => {
    const cache = new Cache();
    const shared = cache.scope<number>('numbers', { maxSize: 10 });
    const a = cache.cached(async (n: number) => n, { scope: shared, key: 'a:{0}' });
    const b = cache.cached(async (n: number) => n * 10, { scope: shared, key: 'b:{0}' });
    await a(1);
    await b(1);
    expect(shared.keys().sort()).toEqual(['a:1', 'b:1']);
    expect(() => cache.cached(async () => 1, { scope: shared, maxSize: 3 })).toThrow(/`maxSize` belongs to the shared scope/);
  });

  it('keeps the derived keys of functions sharing a scope apart', async () => {
    const cache = new Cache();
    const shared = cache.scope<number>('shared');
    const double = cache.cached(async function double(n: number) {
      return n * 2;
    }, { scope: shared });
    const triple = cache.cached(async (n: number) => n * 3, { scope: shared, name: 'triple' });
    expect(await double(1)).toBe(2);
    expect(await triple(1)).toBe(3);
    expect(double.keyFor(1)).toBe('shared:double:#1');
    expect(() => cache.cached(async function double(n: number) {
      return n;
    }, { scope: shared })).toThrow(/a function named `double` already caches in scope `shared`/);
    expect(() => cache.cached(async (n: number) => n, { scope: shared })).toThrow(/needs a `name` \(or a `key`\)/);
  });

  it('tags entries from templates and functions of the arguments', async () => {
    const cache = new Cache();
    const byTemplate = cache.cached(async (q: { orgId: number; id: number }) => q.id, { tags: ['org:{orgId}'] });
    const byFn = cache.cached(async (orgId: number) => orgId, { tags: (orgId) => [`org:${orgId}`] });
    await byTemplate({ orgId: 1, id: 1 });
    await byTemplate({ orgId: 2, id: 2 });
    await byFn(1);
    expect(await cache.invalidateTags(['org:1'])).toBe(2);
    expect(byTemplate.scope.size).toBe(1);
  });

  it('emits events keyed by the full key', async () => {
    const cache = new Cache();
    const events = recordEvents(cache);
    const getUser = cache.cached(async function getUser(id: number) {
      return id;
    });
    await getUser(1);
    await getUser(1);
    expect(events.map((e) => `${e.type} ${e.key}`)).toEqual(['CACHE_MISS getUser:#1', 'CACHE_LOAD getUser:#1', 'CACHE_HIT getUser:#1']);
  });

  it('refuses tags that no invalidateTags() call could name', () => {
    const cache = new Cache();
    expect(() => cache.cached(async (n: number) => n, { tags: [1] as never })).toThrow(
      /^`tags` must hold non-empty strings \(tags or templates such as 'user:\{id\}'\), got 1$/,
    );
    expect(() => cache.cached(async (n: number) => n, { tags: ['ok', ''] })).toThrow(/must hold non-empty strings .*got ""/);
    expect(() => cache.cached(async (n: number) => n, { tags: [undefined] as never })).toThrow(/got undefined/);
    expect(cache.scopeNames).toEqual([]);
  });

  it('names the function in option errors, also when it is anonymous but given a `name`', () => {
    const cache = new Cache();
    const error = (() => {
      try {
        cache.cached(async (n: number) => n, { name: 'getUser', hardTimeout: 2 ** 31 });
      } catch (thrown) {
        return thrown as RangeError;
      }
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error?.message).toBe('scope `getUser`: `hardTimeout` must be at most 2147483647 ms (about 24.8 days, the longest a timer can wait), got 2147483648');
    expect(() => cache.cached(async function loadUser(n: number) { return n; }, { maxSize: 0 })).toThrow(
      /^scope `loadUser`: `maxSize` must be a positive integer or Infinity, got 0$/,
    );
    expect(() => cache.cached(async (q: { id: number }) => q.id, { name: 'getUser', key: 'user:{}' })).toThrow(
      'the key template of getUser `user:{}` has an empty placeholder `{}`',
    );
  });

  it('rejects what is not a function', () => {
    expect(() => new Cache().cached('x' as never)).toThrow(/`cached` wraps a function, got "x"/);
    expect(() => new Cache().cached(async () => 1, { key: 5 as never })).toThrow(/`key` must be a template string or a function/);
  });
});
