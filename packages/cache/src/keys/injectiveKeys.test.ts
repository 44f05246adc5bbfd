import { Cache } from '../Cache';
import { MemoryStore } from '../stores/MemoryStore';

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
    expect(inA.keyFor({ org: 'acme:user:alice', user: 'x' })).toBe('org:acme%3Auser%3Aalice:user:x');
    expect(inA.keyFor({ org: 'acme', user: 'alice:user:x' })).toBe('org:acme:user:alice%3Auser%3Ax');
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
});
