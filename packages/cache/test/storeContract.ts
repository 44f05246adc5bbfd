import type { CacheStore, StoredEntry } from '../src/stores/CacheStore';

/** What a store under test needs: a fresh, empty namespace per test, and a way to move time. */
export interface StoreUnderTest {
  store: CacheStore;
  /** Advances the time the store sees (fake timers or an injected clock), in ms. */
  advance(ms: number): Promise<void>;
  /** The current time the store sees. */
  now(): number;
  /** Releases what the test made (connections, keys). */
  dispose(): Promise<void>;
}

/**
 * The contract every `CacheStore` satisfies: memory, Redis, Redis Cluster. Call it inside a test file
 * with a factory of fresh stores.
 */
export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the CacheStore contract`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await make();
    });
    afterEach(async () => {
      await t.dispose();
    });

    const entry = <V>(value: V, freshMs: number, staleMs = freshMs, tags: string[] = []): StoredEntry<V> => ({
      value,
      freshUntil: t.now() + freshMs,
      staleUntil: t.now() + staleMs,
      tags,
    });

    it('round-trips values of every JSON kind with their timeline and tags', async () => {
      const values = [{ id: 1, nested: { list: [1, 'two', null, true] } }, 'text', 42, 0, false, null, [], 'ünïcödé ✓'];
      await t.store.setMany(values.map((v, i) => [`k${i}`, entry(v, 60_000, 120_000, ['t1', 't2'])] as const));
      const got = await t.store.getMany(values.map((_, i) => `k${i}`));
      got.forEach((stored, i) => {
        expect(stored).toEqual({
          value: values[i],
          freshUntil: expect.any(Number),
          staleUntil: expect.any(Number),
          tags: ['t1', 't2'],
        });
      });
      const first = got[0] as StoredEntry;
      expect(first.staleUntil - first.freshUntil).toBe(60_000);
    });

    it('keeps entries that never expire', async () => {
      await t.store.setMany([['forever', { value: 1, freshUntil: Infinity, staleUntil: Infinity, tags: [] }]]);
      await t.advance(1_000);
      expect(await t.store.getMany(['forever'])).toEqual([{ value: 1, freshUntil: Infinity, staleUntil: Infinity, tags: [] }]);
    });

    it('answers missing keys with undefined, in order', async () => {
      await t.store.setMany([['b', entry('B', 60_000)]]);
      expect((await t.store.getMany(['a', 'b', 'c'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([undefined, 'B', undefined]);
    });

    it('keeps an entry after it turns stale, and drops it at staleUntil', async () => {
      await t.store.setMany([['k', entry('v', 1_000, 3_000)]]);
      await t.advance(2_000);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'v' });
      await t.advance(1_500);
      expect(await t.store.getMany(['k'])).toEqual([undefined]);
    });

    it('overwrites an entry', async () => {
      await t.store.setMany([['k', entry('old', 60_000)]]);
      await t.store.setMany([['k', entry('new', 60_000)]]);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'new' });
    });

    it('keeps, of two writes of a key, the one with the later stamp, whatever the order they arrive in', async () => {
      const at = t.now();
      await t.store.setMany([['k', { ...entry('newer', 60_000), stamp: at + 10 }]]);
      await t.store.setMany([['k', { ...entry('older', 60_000), stamp: at }]]); // a slow load landing late
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'newer' });
      await t.store.setMany([['k', { ...entry('older, stale', -1), stamp: at + 5 }]]); // would delete the key
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'newer' });
      await t.store.setMany([['k', { ...entry('same stamp', 60_000, 60_000, ['t']), stamp: at + 10 }]]);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'same stamp', tags: ['t'] });
      await t.store.setMany([['k', { ...entry('latest', 60_000), stamp: at + 20 }]]);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'latest' });
      await t.store.setMany([['k', entry('no stamp: no ordering', 60_000)]]);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'no stamp: no ordering' });
    });

    it('deletes keys and counts the ones that existed', async () => {
      await t.store.setMany([
        ['a', entry(1, 60_000)],
        ['b', entry(2, 60_000)],
      ]);
      expect(await t.store.deleteMany(['a', 'b', 'zzz'])).toBe(2);
      expect(await t.store.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    });

    it('setIfAbsent writes only over nothing', async () => {
      expect(await t.store.setIfAbsent('k', entry('first', 1_000))).toBe(true);
      expect(await t.store.setIfAbsent('k', entry('second', 1_000))).toBe(false);
      expect((await t.store.getMany(['k']))[0]).toMatchObject({ value: 'first' });
      await t.advance(1_500);
      expect(await t.store.setIfAbsent('k', entry('third', 1_000))).toBe(true);
    });

    it('setIfAbsent lets exactly one of many concurrent writers win', async () => {
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => t.store.setIfAbsent('race', entry(i, 60_000))));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('increments atomically, from an absent key and on an existing one, keeping its timeline', async () => {
      const absent = entry(0, 60_000, 90_000);
      expect(await t.store.increment('n', 5, absent)).toBe(5);
      const results = await Promise.all(Array.from({ length: 10 }, () => t.store.increment('n', 1, absent)));
      expect(Math.max(...results)).toBe(15);
      expect(new Set(results).size).toBe(10);
      const [stored] = await t.store.getMany(['n']);
      expect(stored).toMatchObject({ value: 15 });
      expect((stored as StoredEntry).staleUntil - (stored as StoredEntry).freshUntil).toBe(30_000);
    });

    it('refuses to increment something that is not a number', async () => {
      await t.store.setMany([['s', entry('text', 60_000)]]);
      await expect(t.store.increment('s', 1, entry(0, 60_000))).rejects.toThrow(TypeError);
    });

    it('deletes by prefix, leaving the rest, and everything with an empty prefix', async () => {
      await t.store.setMany([
        ['user:1:a', entry(1, 60_000)],
        ['user:1:b', entry(2, 60_000)],
        ['user:2:a', entry(3, 60_000)],
        ['user:1*', entry(4, 60_000)],
      ]);
      expect(await t.store.deleteByPrefix('user:1:')).toBe(2);
      expect((await t.store.getMany(['user:2:a', 'user:1*'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([3, 4]);
      expect(await t.store.deleteByPrefix('')).toBe(2);
    });

    it('treats glob characters in a prefix literally', async () => {
      await t.store.setMany([
        ['a*b:1', entry(1, 60_000)],
        ['axb:1', entry(2, 60_000)],
      ]);
      expect(await t.store.deleteByPrefix('a*b:')).toBe(1);
      expect((await t.store.getMany(['axb:1']))[0]).toMatchObject({ value: 2 });
    });

    it('deletes by glob: * and ? are wildcards, a backslash escapes, [ ] are literal', async () => {
      await t.store.setMany([
        ['user:1:profile', entry(1, 60_000)],
        ['user:22:profile', entry(2, 60_000)],
        ['user:1:settings', entry(3, 60_000)],
        ['lit*:x', entry(4, 60_000)],
        ['litZ:x', entry(5, 60_000)],
        ['[a]', entry(6, 60_000)],
      ]);
      expect(await t.store.deleteMatching('user:?:profile')).toBe(1);
      expect(await t.store.deleteMatching('user:*:profile')).toBe(1);
      expect(await t.store.deleteMatching('lit\\*:x')).toBe(1);
      expect(await t.store.deleteMatching('[a]')).toBe(1);
      expect((await t.store.getMany(['user:1:settings', 'litZ:x'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([3, 5]);
    });

    it('invalidates tags: entries written before read as missing, entries written after live', async () => {
      await t.store.setMany([
        ['a', entry('A', 60_000, 60_000, ['user:1'])],
        ['b', entry('B', 60_000, 60_000, ['user:1', 'org:9'])],
        ['c', entry('C', 60_000, 60_000, ['user:2'])],
        ['d', entry('D', 60_000)],
      ]);
      await t.store.invalidateTags(['user:1']);
      expect((await t.store.getMany(['a', 'b', 'c', 'd'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([
        undefined,
        undefined,
        'C',
        'D',
      ]);
      await t.store.setMany([['a', entry('A2', 60_000, 60_000, ['user:1'])]]);
      expect((await t.store.getMany(['a']))[0]).toMatchObject({ value: 'A2' });
      await t.store.invalidateTags(['user:1', 'nobody']);
      expect(await t.store.getMany(['a'])).toEqual([undefined]);
    });

    it('invalidating a tag equal to an entry\'s key deletes that entry, however it was written', async () => {
      await t.store.setMany([
        ['item:5', entry('untagged', 60_000)],
        ['item:6', entry('other tag', 60_000, 60_000, ['shop:1'])],
        ['item:7', entry('kept', 60_000)],
        ['x:item:5', entry('longer key', 60_000)],
      ]);
      await t.store.invalidateTags(['item:5', 'item:6', 'item:404']);
      expect((await t.store.getMany(['item:5', 'item:6', 'item:7', 'x:item:5'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([
        undefined,
        undefined,
        'kept',
        'longer key',
      ]);
      // Deleted, not only hidden: a new write under that key lives, and its tag is unaffected.
      await t.store.setMany([['item:5', entry('again', 60_000)]]);
      expect(await t.store.setIfAbsent('item:6', entry('fresh', 60_000))).toBe(true);
      expect((await t.store.getMany(['item:5', 'item:6'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual(['again', 'fresh']);
    });

    it('answers many keys in one call, in order', async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `many:${i}`);
      await t.store.setMany(keys.map((k, i) => [k, entry(i, 60_000)] as const));
      const got = await t.store.getMany(keys);
      expect(got.map((e) => (e as StoredEntry).value)).toEqual(keys.map((_, i) => i));
    });

    it('keeps keys with any characters apart', async () => {
      const keys = ['a:b', 'a\\:b', 'a b', 'ключ', '', '*', '{tag}x', 'x{tag}'];
      await t.store.setMany(keys.map((k, i) => [k, entry(i, 60_000)] as const));
      expect((await t.store.getMany(keys)).map((e) => (e as StoredEntry).value)).toEqual(keys.map((_, i) => i));
    });

    it('answers ping', async () => {
      await expect(t.store.ping()).resolves.toBeUndefined();
    });
  });
}
