import { Cache } from './Cache';
import { MemoryStore } from './stores/MemoryStore';

describe('Cache', () => {
  it('returns the same scope by name, and refuses a second set of options', () => {
    const cache = new Cache();
    const users = cache.scope('users', { ttl: '30s' });
    expect(cache.scope('users')).toBe(users);
    expect(() => cache.scope('users', { ttl: '1m' })).toThrow(/scope `users` already exists/);
    expect(cache.scopeNames).toEqual(['users']);
  });

  it('rejects bad options at construction, naming the option', () => {
    expect(() => new Cache({ maxSize: 0 })).toThrow(/`maxSize` must be a positive integer or Infinity, got 0/);
    expect(() => new Cache({ ttl: -1 })).toThrow(RangeError);
    expect(() => new Cache({ ttl: '5 parsecs' })).toThrow(TypeError);
    expect(() => new Cache({ clock: {} as never })).toThrow(/`clock` must be an object with a now\(\) method/);
    expect(() => new Cache({ prefix: '' })).toThrow(/`prefix` must be a non-empty string/);
    expect(() => new Cache({ hardTimeout: 2 ** 31 })).toThrow(/`hardTimeout` must be at most 2147483647 ms/);
    expect(() => new Cache().scope('s', { softTimeout: 2 ** 31 })).toThrow(/`softTimeout` must be at most 2147483647 ms/);
    expect(() => new Cache().scope('')).toThrow(/scope name must be a non-empty string/);
    expect(() => new Cache().scope('s', { maxSize: -2 })).toThrow(RangeError);
    expect(() => new Cache().scope('s', { keyPrefix: 3 as never })).toThrow(
      "scope `s`: `keyPrefix` must be a non-empty string (omit it to use the scope's name), got 3",
    );
    expect(() => new Cache().scope('s', { keyPrefix: '' })).toThrow(/scope `s`: `keyPrefix` must be a non-empty string/);
  });

  it('stats().scopes lists scopes named like Object.prototype members as any other', async () => {
    const cache = new Cache();
    await cache.scope<number>('__proto__').set('k', 1);
    await cache.scope<number>('hasOwnProperty').set('k', 2);
    const { scopes } = cache.stats();
    expect(Object.keys(scopes)).toEqual(['__proto__', 'hasOwnProperty']);
    expect(Object.getOwnPropertyDescriptor(scopes, '__proto__')?.value).toMatchObject({ size: 1 });
    expect(Object.getOwnPropertyDescriptor(scopes, 'hasOwnProperty')?.value).toMatchObject({ size: 1 });
    expect(cache.stats().size).toBe(2);
  });

  it('reads time from an injected clock', async () => {
    let now = 1_000;
    const cache = new Cache({ ttl: 100, clock: { now: () => now } });
    const scope = cache.scope<number>('s');
    await scope.set('k', 1);
    now += 99;
    expect(await scope.get('k')).toBe(1);
    now += 1;
    expect(await scope.get('k')).toBeUndefined();
  });

  it('deletes a full key from the scope whose namespace starts it, and from no other', async () => {
    const cache = new Cache();
    const plain = cache.scope('plain');
    const products = cache.scope('catalog', { keyPrefix: 'products' });
    await plain.set('products:1', 'a');
    await products.set('1', 'b');
    await products.set('2', 'c');
    expect(plain.fullKey('products:1')).toBe('plain:products:1');
    expect(await cache.delete('products:1')).toBe(true);
    expect(await plain.has('products:1')).toBe(true);
    expect(await products.has('1')).toBe(false);
    expect(await products.has('2')).toBe(true);
    expect(await cache.delete('plain:products:1')).toBe(true);
    expect(await plain.has('products:1')).toBe(false);
    expect(await cache.delete('nothing')).toBe(false);
    await expect(cache.delete(1 as never)).rejects.toThrow(TypeError);
  });

  it('clears every scope', async () => {
    const cache = new Cache();
    await cache.scope('a').set('k', 1);
    await cache.scope('b').set('k', 2);
    await cache.clear();
    expect(cache.stats().size).toBe(0);
  });

  it('adds up stats across scopes and lists each', async () => {
    const cache = new Cache({ maxSize: 10 });
    const a = cache.scope<number>('a');
    const b = cache.scope<number>('b');
    await a.getOrSet('x', async () => 1);
    await a.getOrSet('x', async () => 1);
    await b.getOrSet('y', async () => 2);
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 1, misses: 2, hitRate: 1 / 3, size: 2, maxSize: 20, loads: 2 });
    expect(stats.scopes.a).toMatchObject({ hits: 1, misses: 1 });
    expect(stats.scopes.b).toMatchObject({ hits: 0, misses: 1 });
  });

  it('delivers every scope event to onEvent', async () => {
    const seen: string[] = [];
    const cache = new Cache({ onEvent: (e) => seen.push(`${e.scope}:${e.type}`) });
    await cache.scope('a').get('k');
    expect(seen).toEqual(['a:CACHE_MISS']);
  });

  it('names keys of shared stores as a RedisStore does, prefix:version:e:key, with one default (svc:v1)', () => {
    expect(new Cache().storageKey('user:1')).toBe('svc:v1:e:user:1');
    expect(new Cache({ prefix: 'shop', version: 'v2' }).storageKey('user:1')).toBe('shop:v2:e:user:1');
  });

  it('takes the namespace of a store that has one, and refuses a different one', () => {
    const store = Object.assign(new MemoryStore(), { prefix: 'shop', version: 'v3' });
    const cache = new Cache({ store });
    expect([cache.prefix, cache.version, cache.storageKey('k')]).toEqual(['shop', 'v3', 'shop:v3:e:k']);
    expect(new Cache({ store, prefix: 'shop', version: 'v3' }).storageKey('k')).toBe('shop:v3:e:k');
    expect(() => new Cache({ store, version: 'v4' })).toThrow(
      new TypeError(`\`version\` "v4" differs from the store's "v3": the store decides where entries live; leave \`version\` out, or give the store the same one`),
    );
    expect(new Cache({ store: new MemoryStore(), prefix: 'own' }).prefix).toBe('own');
  });

  it.each(['a:b', 'a b', 'a*', ''])('refuses the prefix %j, which a shared store could not keep apart', (prefix) => {
    expect(() => new Cache({ prefix })).toThrow(TypeError);
    expect(() => new Cache({ prefix })).toThrow(/^`prefix` /);
  });

  it('rejects bad arguments of invalidateTags', async () => {
    await expect(new Cache().invalidateTags('user:1' as never)).rejects.toThrow(/takes an array of tags/);
  });
});
