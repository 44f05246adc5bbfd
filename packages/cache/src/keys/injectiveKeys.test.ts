import fc from 'fast-check';
import { Cache } from '../Cache';
import { MemoryStore } from '../stores/MemoryStore';
import { propertySettings } from './properties';

// Issue 11, item 4: keys that could be forged across callers and scopes. Each test is one collision of
// the issue: two different (scope, arguments) that used to share one entry, in L1 and in the store.

/** Two caches on one store, like two processes on one Redis. */
function twoProcesses() {
  const store = new MemoryStore();
  return { store, a: new Cache({ store }), b: new Cache({ store }) };
}

describe('injective keys', () => {
  it('a template value holding the separator cannot pose as the next segment', async () => {
    const { store, a, b } = twoProcesses();
    const load = jest.fn(async ({ org, user }: { org: string; user: string }) => `${org}/${user}`);
    const inA = a.cached(load, { key: 'org:{org}:user:{user}', name: 'member' });
    const inB = b.cached(load, { key: 'org:{org}:user:{user}', name: 'member' });
    expect(await inA({ org: 'acme:user:alice', user: 'x' })).toBe('acme:user:alice/x');
    expect(await inB({ org: 'acme', user: 'alice:user:x' })).toBe('acme/alice:user:x');
    expect(await inA({ org: 'acme', user: 'alice:user:x' })).toBe('acme/alice:user:x');
    expect(load).toHaveBeenCalledTimes(2);
    expect(inA.keyFor({ org: 'acme:user:alice', user: 'x' })).toBe('member:org:acme%3Auser%3Aalice:user:x');
    expect(inA.keyFor({ org: 'acme', user: 'alice:user:x' })).toBe('member:org:acme:user:alice%3Auser%3Ax');
    expect(store.size).toBe(2);
  });

  it('keyPrefix `a` with key `b:c` and keyPrefix `a:b` with key `c` are two entries', async () => {
    const { store, a, b } = twoProcesses();
    await a.scope<string>('first', { keyPrefix: 'a' }).set('b:c', 'first');
    await b.scope<string>('second', { keyPrefix: 'a:b' }).set('c', 'second');
    expect(a.scope('first').fullKey('b:c')).toBe('a:b:c');
    expect(b.scope('second').fullKey('c')).toBe('a%3Ab:c');
    expect(await new Cache({ store }).scope('second', { keyPrefix: 'a:b' }).get('c')).toBe('second');
    expect(await new Cache({ store }).scope('first', { keyPrefix: 'a' }).get('b:c')).toBe('first');
    expect(store.size).toBe(2);
  });

  it('a function named `a` called with `b:c` and one named `a:b` called with `c` in one scope are two entries', async () => {
    const cache = new Cache();
    const shared = cache.scope<string>('shared');
    const first = cache.cached(async (s: string) => `a(${s})`, { scope: shared, name: 'a' });
    const second = cache.cached(async (s: string) => `a:b(${s})`, { scope: shared, name: 'a:b' });
    expect(await first('b:c')).toBe('a(b:c)');
    expect(await second('c')).toBe('a:b(c)');
    expect(await first('b:c')).toBe('a(b:c)');
    expect(shared.keys().sort()).toEqual(['a%3Ab:c', 'a:b:c']);
  });

  it('tags filled from templates are escaped alike, and plain ids still match a hand-written tag', async () => {
    const cache = new Cache();
    const load = jest.fn(async ({ id }: { id: string | number }) => `user ${id}`);
    const getUser = cache.cached(load, { key: 'user:{id}' });
    await getUser({ id: 42 });
    await getUser({ id: 'x:1' });
    expect(await cache.invalidateTags(['user:42'])).toBe(1);
    expect(await cache.invalidateTags(['user:x:1'])).toBe(0);
    expect(await cache.invalidateTags(['user:x%3A1'])).toBe(1);
    expect(getUser.scope.size).toBe(0);
  });

  it('resource tags escape the id the way the readers tag their entries', async () => {
    const cache = new Cache();
    const user = cache.resource('user', 'userId');
    const getUser = user.cached(async ({ userId }: { userId: string }) => userId);
    await getUser({ userId: 'a:b' });
    expect(user.tag('a:b')).toBe('user:a%3Ab');
    expect(await cache.invalidateTags([user.tag('a:b')])).toBe(1);
  });

  it('scopes without a keyPrefix on one store do not read each other\'s keys', async () => {
    const { store, a, b } = twoProcesses();
    await a.scope<string>('users').set('1', 'a user');
    expect(await b.scope<string>('orders').get('1')).toBeUndefined();
    await b.scope<string>('orders').set('1', 'an order');
    expect(await new Cache({ store }).scope<string>('users').get('1')).toBe('a user');
    expect(a.scope('users').fullKey('1')).toBe('users:1');
    expect(b.scope('orders').fullKey('1')).toBe('orders:1');
    expect(store.size).toBe(2);
  });

  it('two cached functions with one key template keep apart, and one tag still drops both', async () => {
    const cache = new Cache({ store: new MemoryStore() });
    const getUser = cache.cached(async ({ id }: { id: number }) => `user ${id}`, { key: 'user:{id}', name: 'getUser' });
    const getAvatar = cache.cached(async ({ id }: { id: number }) => `avatar ${id}`, { key: 'user:{id}', name: 'getAvatar' });
    expect(await getUser({ id: 42 })).toBe('user 42');
    expect(await getAvatar({ id: 42 })).toBe('avatar 42');
    expect([getUser.keyFor({ id: 42 }), getAvatar.keyFor({ id: 42 })]).toEqual(['getUser:user:42', 'getAvatar:user:42']);
    expect(await cache.invalidateTags(['user:42'])).toBe(2);
  });

  it('refuses a second scope with a namespace already in use, and gives cached functions a free one', () => {
    const cache = new Cache();
    cache.scope('users');
    expect(() => cache.scope('accounts', { keyPrefix: 'users' })).toThrow(
      "scope `accounts` would share the key namespace `users` with scope `users`, so each would read the other's entries " +
        'in a shared store: give it another `keyPrefix` (or none: its name is used)',
    );
    cache.scope('catalog', { keyPrefix: 'getProduct' });
    expect(() => cache.scope('getProduct')).toThrow(/scope `getProduct` would share the key namespace `getProduct` with scope `catalog`/);
    const getProduct = cache.cached(async function getProduct(id: number) {
      return id;
    });
    expect(getProduct.scope.name).toBe('getProduct#2');
    expect(getProduct.keyFor(1)).toBe('getProduct#2:#1');
  });

  it('cache.delete() finds the one scope a full key belongs to, escaped namespaces included', async () => {
    const cache = new Cache();
    const odd = cache.scope<string>('odd', { keyPrefix: 'a:b' });
    const a = cache.scope<string>('a');
    await odd.set('c', 'odd');
    await a.set('b:c', 'a');
    expect(await cache.delete('a:b:c')).toBe(true);
    expect([await odd.get('c'), await a.get('b:c')]).toEqual(['odd', undefined]);
    expect(await cache.delete('a%3Ab:c')).toBe(true);
    expect(await odd.get('c')).toBeUndefined();
  });

  it('deleteMatch and deleteByPrefix reach a scope\'s own entries in the store, whatever its namespace holds', async () => {
    const { store, a } = twoProcesses();
    const odd = a.scope<string>('odd', { keyPrefix: 'x*:y' });
    const plain = a.scope<string>('x');
    await odd.setMany([['user:1', 'o1'], ['user:2', 'o2'], ['post:1', 'o3']]);
    await plain.set('user:1', 'p1');
    expect(await odd.deleteMatch('user:*')).toBe(2);
    expect(await odd.deleteByPrefix('post:')).toBe(1);
    expect(store.size).toBe(1);
    expect(await new Cache({ store }).scope('x').get('user:1')).toBe('p1');
  });

  it('no two (namespace, local key) pairs share a full key (property)', () => {
    const text = fc.string({ unit: fc.constantFrom(':', '%', '{', '}', 'a', '3', 'A'), maxLength: 5 });
    fc.assert(
      fc.property(text.filter((t) => t !== ''), text, text.filter((t) => t !== ''), text, (ns1, local1, ns2, local2) => {
        const cache = new Cache();
        const first = cache.scope('first', { keyPrefix: ns1 }).fullKey(local1);
        const second = new Cache().scope('second', { keyPrefix: ns2 }).fullKey(local2);
        expect(first === second).toBe(ns1 === ns2 && local1 === local2);
      }),
      propertySettings,
    );
  });
});

// Issue 11, item 5, through a cached function: each pair used to share one entry.
describe('faithful derived keys through cached()', () => {
  it('runs the function once per distinct call, for values JSON would blur', async () => {
    const cache = new Cache();
    const seen: string[] = [];
    const f = cache.cached(async function report(a: unknown, b?: unknown) {
      seen.push(typeof a === 'object' && a !== null ? Object.prototype.toString.call(a) : typeof a);
      return [a, b];
    });
    const pairs: Array<[unknown[], unknown[]]> = [
      [[new Date(0), 1], [new Date(0).toISOString(), 1]],
      [[-0], [0]],
      [[/a/g], [{}]],
      [[new Uint8Array([1])], [{ 0: 1 }]],
      [[Object(1)], [1]],
      [[new ArrayBuffer(1)], [[0]]],
    ];
    for (const [x, y] of pairs) {
      await f(...(x as [unknown, unknown?]));
      await f(...(y as [unknown, unknown?]));
      await f(...(x as [unknown, unknown?]));
    }
    expect(seen).toEqual([
      '[object Date]', 'string', 'number', 'number', '[object RegExp]', '[object Object]',
      '[object Uint8Array]', '[object Object]', '[object Number]', 'number', '[object ArrayBuffer]', '[object Array]',
    ]);
    expect(f.scope.size).toBe(12);
  });

  it('rejects the call (the function does not run) for an argument it cannot key', async () => {
    const cache = new Cache();
    let runs = 0;
    const f = cache.cached(async function load(_p: Promise<number>) {
      return ++runs;
    });
    await expect(f(Promise.resolve(1))).rejects.toThrow(
      /^argument 0 of load \(`args\[0\]`\) is a promise, which cannot be part of a cache key: await it/,
    );
    expect(runs).toBe(0);
  });
});
