/**
 * The shared layer's behaviour across processes, with the in-memory parts: several `Cache` instances
 * sharing one MemoryStore, one MemoryBackplaneHub and one MemoryLock stand for several processes sharing
 * a Redis. Every instance (and the MemoryStore and MemoryLock) reads `Date.now()`, which jest's fake
 * timers drive; the MemoryBackplane delivers in a microtask, which the fake timers also queue, so
 * `settle()` (advancing by 0 ms) is what delivers backplane messages.
 */
import { Cache } from './Cache';
import type { CacheScope } from './CacheScope';
import type { CacheEvent, CacheEventMap, CacheEventName } from './events/CacheEvents';
import type { CacheOptions } from './options/CacheOptions';
import type { Backplane, BackplaneMessage, CacheStore, DistributedLock, StoredEntry } from './stores/CacheStore';
import { MemoryBackplaneHub, MemoryLock, MemoryStore } from './stores/MemoryStore';
import { CacheAtomicError, isCacheAtomicError } from './errors/CacheAtomicError';

const T0 = Date.UTC(2030, 0, 1);

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});

afterEach(() => {
  jest.useRealTimers();
});

/** Runs what is due now: queued microtasks (backplane deliveries) and 0 ms timers. */
const settle = () => jest.advanceTimersByTimeAsync(0);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A test double of our own interface: delegates to a real store and records every call. */
class CountingStore implements CacheStore {
  readonly calls: string[] = [];
  /** The keys of each `getMany` call, in order. */
  readonly reads: string[][] = [];
  /** Each delete's method and stamp, in order. */
  readonly deletes: Array<[string, number | undefined]> = [];

  constructor(private readonly inner: CacheStore) {}

  getMany(keys: readonly string[]): Promise<Array<StoredEntry | Error | undefined>> {
    this.calls.push('getMany');
    this.reads.push([...keys]);
    return this.inner.getMany(keys);
  }
  setMany(entries: ReadonlyArray<readonly [string, StoredEntry]>): Promise<void> {
    this.calls.push('setMany');
    return this.inner.setMany(entries);
  }
  setIfAbsent(key: string, entry: StoredEntry): Promise<boolean> {
    this.calls.push('setIfAbsent');
    return this.inner.setIfAbsent(key, entry);
  }
  increment(key: string, by: number, absent: StoredEntry<number>): Promise<number> {
    this.calls.push('increment');
    return this.inner.increment(key, by, absent);
  }
  deleteMany(keys: readonly string[], stamp?: number): Promise<number> {
    this.calls.push('deleteMany');
    this.deletes.push(['deleteMany', stamp]);
    return this.inner.deleteMany(keys, stamp);
  }
  deleteByPrefix(prefix: string, stamp?: number): Promise<number> {
    this.calls.push('deleteByPrefix');
    this.deletes.push(['deleteByPrefix', stamp]);
    return this.inner.deleteByPrefix(prefix, stamp);
  }
  deleteMatching(pattern: string, stamp?: number): Promise<number> {
    this.calls.push('deleteMatching');
    this.deletes.push(['deleteMatching', stamp]);
    return this.inner.deleteMatching(pattern, stamp);
  }
  invalidateTags(tags: readonly string[], stamp?: number): Promise<void> {
    this.calls.push('invalidateTags');
    this.deletes.push(['invalidateTags', stamp]);
    return this.inner.invalidateTags(tags, stamp);
  }
  ping(): Promise<void> {
    this.calls.push('ping');
    return this.inner.ping();
  }
}

/** A store whose server is gone: every method rejects the way a refused connection does. */
class RefusingStore implements CacheStore {
  readonly #refuse = () => Promise.reject(new Error('ECONNREFUSED'));
  getMany = this.#refuse;
  setMany = this.#refuse;
  setIfAbsent = this.#refuse;
  increment = this.#refuse;
  deleteMany = this.#refuse;
  deleteByPrefix = this.#refuse;
  deleteMatching = this.#refuse;
  invalidateTags = this.#refuse;
  ping = this.#refuse;
}

/** Several processes: `n` caches sharing one store, one backplane hub and one lock. */
function processes(n: number, options: CacheOptions = {}) {
  const store = new MemoryStore();
  const hub = new MemoryBackplaneHub();
  const lock = new MemoryLock();
  /** One counting view of the store per instance, so each instance's L2 traffic can be told apart. */
  const stores = Array.from({ length: n }, () => new CountingStore(store));
  const events = Array.from({ length: n }, () => [] as CacheEvent[]);
  const caches = stores.map(
    (counting, i) =>
      new Cache({ store: counting, backplane: hub.connect(), lock, onEvent: (e) => events[i]?.push(e), ...options }),
  );
  return { store, hub, lock, stores, events, caches };
}

function ofType<K extends CacheEventName>(events: readonly CacheEvent[], type: K): Array<CacheEventMap[K]> {
  return events.filter((e): e is CacheEventMap[K] => e.type === type);
}

async function read(store: CacheStore, key: string): Promise<unknown> {
  const [entry] = await store.getMany([key]);
  return entry instanceof Error ? entry : entry?.value;
}

describe('L2 read-through', () => {
  it('an instance with an empty L1 takes the value another one loaded from the L2, without running its factory', async () => {
    const { caches, stores, events } = processes(2, { ttl: 1_000 });
    const [a, b] = caches as [Cache, Cache];
    const factoryA = jest.fn(async () => 'from A');
    const factoryB = jest.fn(async () => 'from B');

    expect(await a.scope('users').getOrSet('u1', factoryA)).toBe('from A');
    expect(factoryA).toHaveBeenCalledTimes(1);

    expect(await b.scope('users').getOrSet('u1', factoryB)).toBe('from A');
    expect(factoryB).not.toHaveBeenCalled();
    expect(ofType(events[1] ?? [], 'CACHE_L2_HIT')).toEqual([{ type: 'CACHE_L2_HIT', scope: 'users', key: 'users:u1', at: T0 }]);
    expect(b.stats().l2Hits).toBe(1);
    expect(b.scope('users').stats().l2Hits).toBe(1);
    expect(a.stats().l2Hits).toBe(0);
    // One definition everywhere: a miss the L2 answers is a miss and an L2 hit, not a load (no loader ran).
    expect([a.stats(), b.stats()].map(({ hits, misses, loads, l2Hits }) => ({ hits, misses, loads, l2Hits }))).toEqual([
      { hits: 0, misses: 1, loads: 1, l2Hits: 0 },
      { hits: 0, misses: 1, loads: 0, l2Hits: 1 },
    ]);
    expect(ofType(events[0] ?? [], 'CACHE_LOAD')).toHaveLength(1);
    expect(ofType(events[1] ?? [], 'CACHE_LOAD')).toEqual([]);

    // B's L1 now holds it: the next call touches neither the L2 nor the factory.
    const readsBefore = stores[1]?.reads.length;
    expect(await b.scope('users').getOrSet('u1', factoryB)).toBe('from A');
    expect(stores[1]?.reads.length).toBe(readsBefore);
    expect(factoryB).not.toHaveBeenCalled();
    expect(b.stats().hits).toBe(1);
  });

  it('keeps the writer\'s timeline: the value expires in B exactly when it expires in A, whatever B\'s own ttl', async () => {
    const { caches } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    const inA = a.scope<string>('s', { ttl: 1_000 });
    const inB = b.scope<string>('s', { ttl: '1h' });
    const factoryB = jest.fn(async () => 'from B');

    await inA.getOrSet('k', async () => 'from A');
    await jest.advanceTimersByTimeAsync(600);
    // B copies it 600 ms after A wrote it: it must not live 1 h (B's ttl) nor 1 s from now.
    expect(await inB.getOrSet('k', factoryB)).toBe('from A');

    await jest.advanceTimersByTimeAsync(399);
    expect(await inA.get('k')).toBe('from A');
    expect(await inB.get('k')).toBe('from A');

    await jest.advanceTimersByTimeAsync(1);
    expect(await inA.get('k')).toBeUndefined();
    expect(await inB.get('k')).toBeUndefined();
    expect(await inB.getOrSet('k', factoryB)).toBe('from B');
    expect(factoryB).toHaveBeenCalledTimes(1);
  });

  it('get, getMany and has on B see what A set; has() is false once it expired', async () => {
    const { caches, events } = processes(2, { ttl: 1_000 });
    const [a, b] = caches as [Cache, Cache];
    await a.scope('s').set('a', 1);
    await a.scope('s').setMany([
      ['b', 2],
      ['c', 3],
    ]);
    await a.scope('s').set('long', 4, { ttl: '1h' });
    await settle();

    const inB = b.scope<number>('s');
    expect(await inB.has('b')).toBe(true);
    expect(await inB.has('nope')).toBe(false);
    expect(await inB.get('a')).toBe(1);
    expect(await inB.getMany(['a', 'b', 'c', 'nope'])).toEqual([1, 2, 3, undefined]);
    expect(b.stats().l2Hits).toBe(3); // a (get), then b and c (getMany); a was already in L1
    // As for getOrSet: a hit is a fresh L1 value; one the L2 answers is a miss and an L2 hit (a of the
    // getMany was in L1 since the get).
    expect(b.stats()).toMatchObject({ hits: 1, misses: 4, l2Hits: 3, loads: 0 });
    const lookups = (events[1] ?? []).filter((e) => ['CACHE_HIT', 'CACHE_MISS', 'CACHE_L2_HIT'].includes(e.type));
    expect(lookups.map((e) => `${e.type} ${'key' in e ? e.key : ''}`)).toEqual([
      'CACHE_MISS s:a', // get('a')
      'CACHE_L2_HIT s:a',
      'CACHE_HIT s:a', // getMany: a from L1, the others a miss each, then the L2 answers b and c
      'CACHE_MISS s:b',
      'CACHE_MISS s:c',
      'CACHE_MISS s:nope',
      'CACHE_L2_HIT s:b',
      'CACHE_L2_HIT s:c',
    ]);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(await inB.has('b')).toBe(false);
    expect(await inB.has('long')).toBe(true);
  });

  it('getMany fetches all of its L1 misses in one store call, by full key', async () => {
    const { caches, stores } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await a.scope('items', { keyPrefix: 'items' }).setMany([
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
      ['d', 'D'],
    ]);
    const inB = b.scope<string>('items', { keyPrefix: 'items' });
    const storeB = stores[1] as CountingStore;
    expect(await inB.get('a')).toBe('A');
    storeB.reads.length = 0;

    expect(await inB.getMany(['a', 'b', 'c', 'x', 'd'])).toEqual(['A', 'B', 'C', undefined, 'D']);
    expect(storeB.reads).toEqual([['items:b', 'items:c', 'items:x', 'items:d']]);

    // Now only `x` misses L1.
    expect(await inB.getMany(['d', 'x', 'b'])).toEqual(['D', undefined, 'B']);
    expect(storeB.reads).toEqual([['items:b', 'items:c', 'items:x', 'items:d'], ['items:x']]);

    // Nothing misses L1: no store call at all.
    expect(await inB.getMany(['a', 'b'])).toEqual(['A', 'B']);
    expect(storeB.reads).toHaveLength(2);
  });
});

describe('L2 lookups coalesced per tick', () => {
  it("sends a batch loader's misses to the L2 in one call, then its batch function gets only the L2 misses", async () => {
    const { caches, stores } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await a.scope<string>('users').setMany([['2', 'two from A']]);
    const batchFn = jest.fn(async (ids: string[]) => ids.map((id) => `user ${id}`));
    const loader = b.scope<string>('users').batchLoader(batchFn);
    const reads = (stores[1] as CountingStore).reads.length;
    const values = loader.loadMany(['1', '2', '3']);
    await jest.advanceTimersByTimeAsync(5);
    expect(await values).toEqual(['user 1', 'two from A', 'user 3']);
    expect((stores[1] as CountingStore).reads.slice(reads)).toEqual([['users:1', 'users:2', 'users:3']]);
    expect(batchFn).toHaveBeenCalledTimes(1);
    expect(batchFn).toHaveBeenCalledWith(['1', '3']);
  });

  it('sends concurrent get() calls made in one tick to the L2 in one call, with the loads\' misses', async () => {
    const { caches, stores } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await a.scope<string>('users').setMany([['1', 'one'], ['2', 'two']]);
    const users = b.scope<string>('users');
    const reads = (stores[1] as CountingStore).reads.length;
    const values = Promise.all([users.get('1'), users.get('2'), users.get('3'), users.getOrSet('4', async () => 'four')]);
    await jest.advanceTimersByTimeAsync(5);
    expect(await values).toEqual(['one', 'two', undefined, 'four']);
    expect((stores[1] as CountingStore).reads.slice(reads)).toEqual([['users:1', 'users:2', 'users:3', 'users:4']]);
    expect(users.stats()).toMatchObject({ l2Hits: 2 });
  });
});

describe('backplane', () => {
  /** A and B each hold `user:1` (tagged `user:1`) and `post:9` in L1; A then changes something. */
  async function twoWarmProcesses() {
    const { caches, stores, hub } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await Promise.all([a.ready, b.ready]);
    const inA = a.scope<string>('users', { keyPrefix: 'users' });
    const inB = b.scope<string>('users', { keyPrefix: 'users' });
    await inA.set('user:1', 'v1', { tags: ['user:1'] });
    await inA.set('post:9', 'p', { tags: ['post:9'] });
    await settle(); // A's messages about its own writes are delivered before B reads
    expect(await inB.getMany(['user:1', 'post:9'])).toEqual(['v1', 'p']);
    expect(inB.keys().sort()).toEqual(['post:9', 'user:1']);
    return { a, b, inA, inB, stores, hub };
  }

  type Change = (a: Cache, inA: CacheScope<string>) => Promise<unknown>;
  const cases: Array<[name: string, change: Change, bKeepsPost: boolean, bReadsNext: string]> = [
    ['scope.set', (_, inA) => inA.set('user:1', 'v2'), true, 'v2'],
    ['scope.setMany', (_, inA) => inA.setMany([['user:1', 'v2']]), true, 'v2'],
    ['scope.remove', (_, inA) => inA.remove('user:1'), true, 'factory'],
    ['scope.getDelete', (_, inA) => inA.getDelete('user:1'), true, 'factory'],
    ['cache.delete', (a) => a.delete('users:user:1'), true, 'factory'],
    ['scope.deleteByPrefix', (_, inA) => inA.deleteByPrefix('user:'), true, 'factory'],
    ['scope.deleteMatch', (_, inA) => inA.deleteMatch('user:?'), true, 'factory'],
    ['cache.invalidateTags', (a) => a.invalidateTags(['user:1']), true, 'factory'],
    ['scope.clear', (_, inA) => inA.clear(), false, 'factory'],
    ['cache.clear', (a) => a.clear(), false, 'factory'],
  ];

  it.each(cases)('%s in A drops B\'s L1 copy; B then reads what A left', async (_name, change, bKeepsPost, bReadsNext) => {
    const { a, inA, inB } = await twoWarmProcesses();
    await change(a, inA);
    await settle();

    expect(inB.keys()).not.toContain('user:1');
    expect(inB.keys().includes('post:9')).toBe(bKeepsPost);
    const factory = jest.fn(async () => 'factory');
    const l2HitsBefore = inB.stats().l2Hits;
    const next = await inB.getOrSet('user:1', factory);
    expect(next).toBe(bReadsNext);
    if (bReadsNext === 'factory') {
      expect(factory).toHaveBeenCalledTimes(1);
    } else {
      expect(factory).not.toHaveBeenCalled();
      expect(inB.stats().l2Hits).toBe(l2HitsBefore + 1);
    }
  });

  it('an instance ignores its own messages, but not the others\'', async () => {
    const { inA, inB, stores } = await twoWarmProcesses();
    const storeA = stores[0] as CountingStore;
    await inA.set('mine', 'kept');
    await inA.setMany([['mine2', 'kept too']]);
    await settle();
    storeA.reads.length = 0;
    expect(inA.keys()).toEqual(expect.arrayContaining(['mine', 'mine2', 'user:1', 'post:9']));
    expect(await inA.getMany(['mine', 'mine2'])).toEqual(['kept', 'kept too']);
    expect(storeA.reads).toEqual([]); // answered by A's L1: A's own publish did not drop it

    // The same message from B does drop A's copy.
    await inB.set('mine', 'B wrote');
    await settle();
    expect(inA.keys()).not.toContain('mine');
    expect(await inA.get('mine')).toBe('B wrote');
    expect(storeA.reads).toEqual([['users:mine']]);
  });

  it('after a reconnection every instance\'s L1 is empty, and the L2 still answers', async () => {
    const { hub, inA, inB, stores } = await twoWarmProcesses();
    expect(inA.size).toBe(2);
    expect(inB.size).toBe(2);

    hub.reconnectAll();

    expect(inA.size).toBe(0);
    expect(inB.size).toBe(0);
    const factory = jest.fn(async () => 'factory');
    const l2Hits = inB.stats().l2Hits;
    expect(await inB.getOrSet('user:1', factory)).toBe('v1');
    expect(await inA.get('post:9')).toBe('p');
    expect(factory).not.toHaveBeenCalled();
    expect(inB.stats().l2Hits).toBe(l2Hits + 1);
    expect(stores[0]?.reads.at(-1)).toEqual(['users:post:9']);
  });
});

describe('deletes carry their time', () => {
  it("every delete hands the store the cache clock's time of the call (the clock write stamps come from)", async () => {
    let now = T0 + 5;
    const { caches, stores } = processes(1, { clock: { now: () => now } });
    const cache = caches[0] as Cache;
    const scope = cache.scope('s');
    const steps = [
      () => scope.remove('k'),
      () => cache.delete('s:other'),
      () => scope.deleteByPrefix('p:'),
      () => scope.deleteMatch('m:*'),
      () => cache.invalidateTags(['t']),
      () => cache.clear(),
    ];
    for (const step of steps) {
      await step();
      now += 10;
    }
    expect(stores[0]?.deletes).toEqual([
      ['deleteMany', T0 + 5],
      ['deleteMany', T0 + 15],
      ['deleteByPrefix', T0 + 25],
      ['deleteMatching', T0 + 35],
      ['invalidateTags', T0 + 45],
      ['deleteByPrefix', T0 + 55],
    ]);
  });
});

describe('tags across instances', () => {
  it('B invalidating a tag drops A\'s L1 copy and the L2 entry; other tags survive', async () => {
    const { caches, store } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    const inA = a.scope<string>('profiles');
    const inB = b.scope<string>('profiles');
    let runs = 0;
    const factory = jest.fn(async () => `profile #${++runs}`);
    expect(await inA.getOrSet('profile:1', factory, { tags: ['user:1'] })).toBe('profile #1');
    await inA.set('profile:2', 'other', { tags: ['user:2'] });
    expect(await inB.get('profile:1')).toBe('profile #1'); // B holds a copy too

    expect(await b.invalidateTags(['user:1'])).toBe(1); // B's own copy, dropped at once
    expect(inB.keys()).toEqual([]);
    expect(await read(store, 'profiles:profile:1')).toBeUndefined();
    expect(await read(store, 'profiles:profile:2')).toBe('other');
    await settle();

    expect(inA.keys()).toEqual(['profile:2']);
    expect(await inA.getOrSet('profile:1', factory, { tags: ['user:1'] })).toBe('profile #2');
    expect(factory).toHaveBeenCalledTimes(2);
    expect(await inA.get('profile:2')).toBe('other');
  });

  it('a tag equal to a full key drops the entry at that key written with set (no tag): in every L1 and in the L2', async () => {
    const { caches, store } = processes(3);
    const [a, b, c] = caches as [Cache, Cache, Cache];
    await a.scope('items').set('item:5', 'five');
    await a.scope('items').set('item:6', 'six');
    expect(await b.scope('items').get('item:5')).toBe('five'); // B holds a copy in L1
    expect(b.scope('items').keys()).toEqual(['item:5']);
    expect(await c.invalidateTags(['items:item:5'])).toBe(0); // C holds nothing itself
    await settle();
    expect(a.scope('items').keys()).toEqual(['item:6']);
    expect(b.scope('items').keys()).toEqual([]);
    expect(await read(store, 'items:item:5')).toBeUndefined();
    expect(await read(store, 'items:item:6')).toBe('six');
    expect(await b.scope('items').get('item:5')).toBeUndefined();
  });

  it('an instance that never held the entry still invalidates it for everyone (the L2 holds the tag)', async () => {
    const { caches, store } = processes(3);
    const [a, b, c] = caches as [Cache, Cache, Cache];
    await a.scope('s').set('k', 'v', { tags: ['t'] });
    expect(await b.scope('s').get('k')).toBe('v');
    await c.invalidateTags(['t']); // C has no scope at all
    await settle();
    expect(a.scope('s').size).toBe(0);
    expect(b.scope('s').size).toBe(0);
    expect(await read(store, 's:k')).toBeUndefined();
    expect(await b.scope('s').get('k')).toBeUndefined();
  });
});

describe('distributed single-flight', () => {
  /** A factory shared by every process (one backend), answering `delay` ms after it is called. */
  function slowBackend(delay: number) {
    const calls: number[] = [];
    const factory = () => {
      calls.push(Date.now());
      return sleep(delay).then(() => 'value');
    };
    return { calls, factory };
  }

  function stampede(caches: readonly Cache[], perProcess: number, factory: () => Promise<string>) {
    const resolvedAt: number[] = [];
    const results = caches.flatMap((cache) =>
      Array.from({ length: perProcess }, () =>
        cache
          .scope<string>('s')
          .getOrSet('cold', factory)
          .then((value) => {
            resolvedAt.push(Date.now());
            return value;
          }),
      ),
    );
    return { resolvedAt, all: Promise.all(results) };
  }

  it('4 processes × 100 concurrent calls on one cold key: the factory runs once, everyone gets its value', async () => {
    const { caches, events } = processes(4, { distributedLock: true, lockTimeout: '10s' });
    const backend = slowBackend(1_000);
    const { resolvedAt, all } = stampede(caches, 100, backend.factory);

    await jest.advanceTimersByTimeAsync(999);
    expect(resolvedAt).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1_001);

    expect(await all).toEqual(Array.from({ length: 400 }, () => 'value'));
    expect(backend.calls).toEqual([T0]);
    // The three waiting processes picked the value up from the L2, each with one L2 hit.
    expect(caches.map((c) => c.stats().l2Hits).sort()).toEqual([0, 1, 1, 1]);
    // Only the holder's loader ran: the fleet's loads add up to the factory's calls.
    expect(caches.map((c) => c.stats().loads)).toEqual([1, 0, 0, 0]);
    // Nobody waited for the lock timeout: the waiters poll with a backoff of at most 250 ms.
    expect(Math.max(...resolvedAt)).toBeLessThanOrEqual(T0 + 1_000 + 250);
    expect(events.flat().filter((e) => e.type === 'CACHE_L2_ERROR')).toEqual([]);
  });

  it('without distributedLock, single-flight is per process: the same stampede runs the factory once per process', async () => {
    const { caches } = processes(4);
    const backend = slowBackend(1_000);
    const { all } = stampede(caches, 100, backend.factory);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await all).toHaveLength(400);
    expect(backend.calls).toHaveLength(4);
  });

  it('a crashed holder: once its lock expires exactly one waiter takes it over and loads; the others take its value from the L2', async () => {
    const { caches, lock, events } = processes(3, { distributedLock: true, lockTimeout: 5_000 });
    // A process took the lock and died: it never renews nor releases it, nor writes the value.
    expect(await lock.tryAcquire('s:cold', 5_000)).toBeInstanceOf(Function);
    const backend = slowBackend(100);
    const { resolvedAt, all } = stampede(caches, 10, backend.factory);

    await jest.advanceTimersByTimeAsync(4_999);
    expect(backend.calls).toEqual([]);
    expect(resolvedAt).toEqual([]);

    await jest.advanceTimersByTimeAsync(1 + 250 + 100 + 250);
    expect(await all).toEqual(Array.from({ length: 30 }, () => 'value'));
    // The lock's TTL and the waiters' bound are distinct: nobody gave up when the lock expired.
    expect(backend.calls).toHaveLength(1);
    expect(backend.calls[0]).toBeGreaterThanOrEqual(T0 + 5_000);
    expect(backend.calls[0]).toBeLessThanOrEqual(T0 + 5_000 + 250);
    expect(caches.map((c) => c.stats().l2Hits).sort()).toEqual([0, 1, 1]);
    expect(Math.max(...resolvedAt)).toBeLessThanOrEqual((backend.calls[0] as number) + 100 + 250);
    expect(events.flat().filter((e) => e.type === 'CACHE_L2_ERROR')).toEqual([]);
  });

  it('a crashed holder\'s expired lock is taken over by one process; the others pick its value up from the L2', async () => {
    const { caches, lock } = processes(3, { distributedLock: true, lockTimeout: 5_000 });
    await lock.tryAcquire('s:cold', 5_000);
    await jest.advanceTimersByTimeAsync(2_500); // the callers arrive half-way through the dead lock
    const backend = slowBackend(100);
    const { resolvedAt, all } = stampede(caches, 10, backend.factory);

    await jest.advanceTimersByTimeAsync(2_499);
    expect(backend.calls).toEqual([]);
    await jest.advanceTimersByTimeAsync(1_000);

    expect(await all).toHaveLength(30);
    expect(backend.calls).toHaveLength(1);
    expect(backend.calls[0]).toBeGreaterThanOrEqual(T0 + 5_000);
    expect(backend.calls[0]).toBeLessThanOrEqual(T0 + 5_000 + 250);
    expect(Math.max(...resolvedAt)).toBeLessThanOrEqual(T0 + 2_500 + 5_000); // each caller's own lockTimeout
  });

  it('a holder that keeps the lock (stuck, or alive and renewing): the waiters stop at lockWaitTimeout, not at lockTimeout', async () => {
    const { caches, lock } = processes(2, { distributedLock: true, lockTimeout: 2_000, lockWaitTimeout: 3_000 });
    // Another process holds the lock for a minute.
    await lock.tryAcquire('s:cold', 60_000);
    const backend = slowBackend(100);
    const { resolvedAt, all } = stampede(caches, 5, backend.factory);

    await jest.advanceTimersByTimeAsync(2_999);
    expect(backend.calls).toEqual([]); // past lockTimeout, still waiting
    await jest.advanceTimersByTimeAsync(1 + 100);
    expect(await all).toHaveLength(10);
    expect(backend.calls).toEqual([T0 + 3_000, T0 + 3_000]); // each process, on its own, once
    expect(Math.max(...resolvedAt)).toBe(T0 + 3_000 + 100);
  });

  it('the holder renews its lock while a factory 5× slower than lockTimeout runs: one factory run in all', async () => {
    const { caches, lock, events } = processes(3, { distributedLock: true, lockTimeout: 1_000 });
    const backend = slowBackend(5_000);
    const { resolvedAt, all } = stampede(caches, 10, backend.factory);

    await jest.advanceTimersByTimeAsync(4_500);
    expect(backend.calls).toEqual([T0]);
    // Still held, 4.5 lock lifetimes later: a newcomer does not get it.
    expect(await lock.tryAcquire('s:cold', 1_000)).toBeUndefined();
    expect(resolvedAt).toEqual([]);

    await jest.advanceTimersByTimeAsync(500 + 250);
    expect(await all).toEqual(Array.from({ length: 30 }, () => 'value'));
    expect(backend.calls).toEqual([T0]);
    // Released once loaded (not left to expire), and no renewal went wrong.
    const next = await lock.tryAcquire('s:cold', 1_000);
    expect(next).toBeInstanceOf(Function);
    await next?.();
    expect(events.flat().filter((e) => e.type === 'CACHE_L2_ERROR')).toEqual([]);
    // No renewal timer is left behind.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a renewal that finds the lock lost, or fails, is reported as renewLock; the load completes', async () => {
    const inner = new MemoryLock();
    const lost: DistributedLock = {
      tryAcquire: async (key, ttl) => {
        const release = await inner.tryAcquire(key, ttl);
        if (release === undefined) return undefined;
        return Object.assign(() => release(), { renew: async () => false });
      },
    };
    const refused = new Error('ETIMEDOUT');
    const failing: DistributedLock = {
      tryAcquire: async (key, ttl) => {
        const release = await inner.tryAcquire(key, ttl);
        if (release === undefined) return undefined;
        return Object.assign(() => release(), { renew: () => Promise.reject(refused) });
      },
    };
    for (const [lock, expected] of [
      [lost, [new Error('the lock on `s:k` expired before its holder renewed it (another process may load it too)')]],
      [failing, [refused, refused]],
    ] as const) {
      const events: CacheEvent[] = [];
      const cache = new Cache({ store: new MemoryStore(), lock, distributedLock: true, lockTimeout: 900, onEvent: (e) => events.push(e) });
      const call = cache.scope('s').getOrSet('k', () => sleep(700).then(() => 'value'));
      await jest.advanceTimersByTimeAsync(700);
      expect(await call).toBe('value');
      expect(ofType(events, 'CACHE_L2_ERROR').map((e) => [e.operation, e.key, e.error])).toEqual(expected.map((error) => ['renewLock', 's:k', error]));
    }
  });

  it('refuses distributedLock without a lock, saying what is missing', () => {
    const store = new MemoryStore();
    expect(() => new Cache({ store, distributedLock: true })).toThrow(TypeError);
    expect(() => new Cache({ store, distributedLock: true })).toThrow(/`distributedLock` needs a `lock`/);
    expect(() => new Cache({ store }).scope('s', { distributedLock: true })).toThrow(TypeError);
    expect(() => new Cache({ store }).scope('s', { distributedLock: true })).toThrow(
      /scope `s` asks for `distributedLock`, which needs a `lock` in the Cache options/,
    );
    expect(() => new Cache().scope('s', { distributedLock: true })).toThrow(/needs a `lock`/);
    expect(() => new Cache({ store, lock: new MemoryLock() }).scope('s', { distributedLock: true })).not.toThrow();
  });
});

describe('fail-safe across instances', () => {
  it('B, with an empty L1 and a failing factory, is rescued by A\'s stale L2 value until the fail-safe window ends', async () => {
    const { caches, events } = processes(4);
    const [a, b, c, d] = caches as [Cache, Cache, Cache, Cache];
    await a.scope('s', { ttl: 1_000, failSafe: 10_000 }).getOrSet('k', async () => 'from A');
    const down = new Error('backend down');
    const failing = jest.fn(async (): Promise<string> => {
      throw down;
    });

    await jest.advanceTimersByTimeAsync(2_000); // beyond the ttl, inside the fail-safe window
    expect(await b.scope<string>('s').getOrSet('k', failing)).toBe('from A');
    expect(failing).toHaveBeenCalledTimes(1);
    const stale = ofType(events[1] ?? [], 'CACHE_STALE_HIT');
    expect(stale).toEqual([{ type: 'CACHE_STALE_HIT', scope: 's', key: 's:k', at: T0 + 2_000, reason: 'error', error: down }]);
    expect(ofType(events[1] ?? [], 'CACHE_LOAD_ERROR')).toHaveLength(1);
    expect(ofType(events[1] ?? [], 'CACHE_LOAD')).toEqual([]); // the load failed: one end event, not two
    expect(b.stats().staleHits).toBe(1);
    expect(b.stats().l2Hits).toBe(0); // a stale entry is not an L2 hit

    // The last millisecond of the window (A wrote at T0: fresh until T0+1s, stale until T0+11s).
    await jest.advanceTimersByTimeAsync(11_000 - 2_000 - 1);
    expect(await c.scope<string>('s').getOrSet('k', failing)).toBe('from A');

    await jest.advanceTimersByTimeAsync(1);
    await expect(d.scope<string>('s').getOrSet('k', failing)).rejects.toBe(down);
    await expect(b.scope<string>('s').getOrSet('k', failing)).rejects.toBe(down);
  });

  it('a stale L2 value is never served on a plain read, only when the factory fails', async () => {
    const { caches } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await a.scope('s', { ttl: 1_000, failSafe: 10_000 }).set('k', 'old');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await b.scope<string>('s').get('k')).toBeUndefined();
    expect(await b.scope<string>('s').has('k')).toBe(false);
    expect(await b.scope<string>('s').getOrSet('k', async () => 'new')).toBe('new');
  });
});

describe('degradation', () => {
  it('a store that refuses every call: every operation still answers from L1 or the factory, and reports', async () => {
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new RefusingStore(), onEvent: (e) => events.push(e) });
    const s = cache.scope<unknown>('s');
    const factory = jest.fn(async () => 'loaded');

    const answers = await Promise.allSettled([
      (async () => {
        expect(await s.getOrSet('k', factory)).toBe('loaded');
        expect(await s.getOrSet('k', factory)).toBe('loaded'); // L1 hit
        expect(factory).toHaveBeenCalledTimes(1);
        expect(await s.get('k')).toBe('loaded');
        expect(await s.get('absent')).toBeUndefined();
        expect(await s.getMany(['k', 'x', 'y'])).toEqual(['loaded', undefined, undefined]);
        expect(await s.has('k')).toBe(true);
        expect(await s.has('x')).toBe(false);
        await s.set('a', 1);
        await s.setMany([['b', 2]]);
        expect(await s.get('a')).toBe(1);
        // Atomic operations have no answer that holds across processes: they reject, and L1 is untouched.
        await expect(s.setIfAbsent('c', 3)).rejects.toThrow(CacheAtomicError);
        await expect(s.incr('n')).rejects.toMatchObject({ name: 'CacheAtomicError', code: 'E_CACHE_ATOMIC', operation: 'incr', key: 's:n' });
        expect(s.keys().sort()).toEqual(['a', 'b', 'k']);
        await s.set('c', 3);
        expect(await s.getDelete('a')).toBe(1);
        expect(await s.remove('b')).toBe(true);
        expect(await s.deleteByPrefix('c')).toBe(1);
        expect(await s.deleteMatch('n')).toBe(0);
        expect(await cache.delete('s:k')).toBe(true);
        expect(await cache.invalidateTags(['t'])).toBe(0);
        await s.clear();
        await cache.clear();
      })(),
    ]);
    expect(answers).toEqual([{ status: 'fulfilled', value: undefined }]);

    const errors = ofType(events, 'CACHE_L2_ERROR');
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e.error).toEqual(new Error('ECONNREFUSED'));
    expect(new Set(errors.map((e) => e.operation))).toEqual(
      new Set(['get', 'getMany', 'set', 'setIfAbsent', 'increment', 'delete', 'deleteByPrefix', 'deleteMatching', 'invalidateTags']),
    );
    expect(errors.find((e) => e.operation === 'get')).toMatchObject({ scope: 's', key: 's:k' });
    expect(errors.find((e) => e.operation === 'setIfAbsent')).toMatchObject({ scope: 's', key: 's:c' });
    // Every failed operation is counted, those of the cache as a whole (delete, invalidateTags, clear) too.
    expect(cache.stats().l2Errors).toBe(errors.length);
    expect(s.stats().l2Errors).toBe(errors.filter((e) => e.scope === 's').length);
  });

  it('setIfAbsent and incr on a failing store reject with a CacheAtomicError carrying the cause, and write nothing', async () => {
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new RefusingStore(), onEvent: (e) => events.push(e) });
    const s = cache.scope<number>('s');
    const refused = await s.setIfAbsent('k', 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(CacheAtomicError);
    expect(isCacheAtomicError(refused)).toBe(true);
    expect(isCacheAtomicError(new Error('E_CACHE_ATOMIC'))).toBe(false);
    expect(refused).toMatchObject({ name: 'CacheAtomicError', code: 'E_CACHE_ATOMIC', operation: 'setIfAbsent', key: 's:k', scope: 's' });
    expect((refused as Error).cause).toEqual(new Error('ECONNREFUSED'));
    expect((refused as Error).message).toBe('`setIfAbsent` of `s:k` in scope `s` has no answer that holds across processes: the L2 failed (ECONNREFUSED)');
    await expect(s.incr('n', 5)).rejects.toMatchObject({ operation: 'incr', key: 's:n', cause: new Error('ECONNREFUSED') });
    expect(s.keys()).toEqual([]);
    // Reported like any other L2 failure.
    expect(ofType(events, 'CACHE_L2_ERROR').map((e) => [e.operation, e.key])).toEqual([
      ['setIfAbsent', 's:k'],
      ['increment', 's:n'],
    ]);
  });

  it("with atomicFallback: 'local', setIfAbsent and incr answer from L1 when the store fails (and still report it)", async () => {
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new RefusingStore(), atomicFallback: 'local', onEvent: (e) => events.push(e) });
    const s = cache.scope<number>('s');
    expect(await s.setIfAbsent('c', 3)).toBe(true);
    expect(await s.setIfAbsent('c', 4)).toBe(false);
    expect(await s.incr('n')).toBe(1);
    expect(await s.incr('n', 2)).toBe(3);
    expect(ofType(events, 'CACHE_L2_ERROR').map((e) => e.operation)).toEqual(['setIfAbsent', 'increment', 'increment']);
    expect(() => new Cache({ atomicFallback: 'memory' as never })).toThrow(new TypeError("`atomicFallback` must be 'reject' or 'local', got \"memory\""));
  });

  it('connection failures a store or backplane reports by itself become CACHE_L2_ERROR `connection`, until close()', async () => {
    const listeners = new Set<(error: Error) => void>();
    const watchable = <T extends object>(inner: T): T & { onConnectionError(l: (error: Error) => void): () => void } =>
      Object.assign(inner, {
        onConnectionError: (listener: (error: Error) => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      });
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: watchable(new MemoryStore()), backplane: watchable(new MemoryBackplaneHub().connect()), onEvent: (e) => events.push(e) });
    expect(listeners.size).toBe(2);
    const tls = new Error('self-signed certificate');
    for (const listener of listeners) listener(tls);
    expect(ofType(events, 'CACHE_L2_ERROR')).toEqual([
      { type: 'CACHE_L2_ERROR', scope: '', key: '', at: T0, operation: 'connection', error: tls },
      { type: 'CACHE_L2_ERROR', scope: '', key: '', at: T0, operation: 'connection', error: tls },
    ]);
    expect(cache.stats().l2Errors).toBe(2);
    await cache.close();
    expect(listeners.size).toBe(0);
  });

  it('undecodable L2 values are misses: the factory runs, and CACHE_L2_ERROR says `decode`', async () => {
    const store = new MemoryStore();
    const garbage = new Error('unexpected byte 0xff at offset 0');
    const corrupt: CacheStore = Object.assign(Object.create(null) as object, {
      getMany: async (keys: readonly string[]) => {
        const found = await store.getMany(keys);
        return keys.map((key, i) => (key === 's:bad' ? garbage : key === 's:weird' ? ('not an entry' as never) : found[i]));
      },
      setMany: (e: ReadonlyArray<readonly [string, StoredEntry]>) => store.setMany(e),
      setIfAbsent: (k: string, e: StoredEntry) => store.setIfAbsent(k, e),
      increment: (k: string, by: number, e: StoredEntry<number>) => store.increment(k, by, e),
      deleteMany: (k: readonly string[]) => store.deleteMany(k),
      deleteByPrefix: (p: string) => store.deleteByPrefix(p),
      deleteMatching: (p: string) => store.deleteMatching(p),
      invalidateTags: (t: readonly string[]) => store.invalidateTags(t),
      ping: () => store.ping(),
    });
    const events: CacheEvent[] = [];
    const writer = new Cache({ store });
    const cache = new Cache({ store: corrupt, onEvent: (e) => events.push(e) });
    await writer.scope('s').setMany([
      ['bad', 'x'],
      ['weird', 'y'],
      ['good', 'z'],
    ]);
    const factory = jest.fn(async () => 'from factory');

    expect(await cache.scope('s').getOrSet('bad', factory)).toBe('from factory');
    expect(factory).toHaveBeenCalledTimes(1);
    expect(ofType(events, 'CACHE_L2_ERROR')).toEqual([
      { type: 'CACHE_L2_ERROR', scope: 's', key: 's:bad', at: T0, operation: 'decode', error: garbage },
    ]);

    expect(await cache.scope('s').getMany(['weird', 'good'])).toEqual([undefined, 'z']);
    const decode = ofType(events, 'CACHE_L2_ERROR').filter((e) => e.operation === 'decode');
    expect(decode).toHaveLength(2);
    expect(decode[1]).toMatchObject({ scope: 's', key: 's:weird' });
    expect(decode[1]?.error).toBeInstanceOf(TypeError);
    expect(cache.stats().l2Errors).toBe(2);
  });

  it('a backplane whose publish rejects: writes still succeed, and reach the L2', async () => {
    const store = new MemoryStore();
    const refused = new Error('ECONNREFUSED');
    const backplane: Backplane = {
      publish: () => Promise.reject(refused),
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
    };
    const events: CacheEvent[] = [];
    const cache = new Cache({ store, backplane, onEvent: (e) => events.push(e) });
    await cache.ready;
    const s = cache.scope<string>('s');
    await expect(s.set('k', 'v')).resolves.toBeUndefined();
    expect(await s.getOrSet('l', async () => 'loaded')).toBe('loaded');
    expect(await read(store, 's:k')).toBe('v');
    expect(await read(store, 's:l')).toBe('loaded');
    expect(await s.remove('k')).toBe(true);
    expect(await cache.invalidateTags(['t'])).toBe(0);
    const errors = ofType(events, 'CACHE_L2_ERROR');
    expect(errors.map((e) => e.operation)).toEqual(['publish', 'publish', 'publish', 'publish']);
    expect(errors.every((e) => e.error === refused)).toBe(true);
  });

  it('a backplane whose subscribe rejects: `ready` still resolves, the failure is reported, the cache works', async () => {
    const refused = new Error('ECONNREFUSED');
    const backplane: Backplane = {
      publish: () => Promise.resolve(),
      subscribe: () => Promise.reject(refused),
      unsubscribe: () => Promise.resolve(),
    };
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new MemoryStore(), backplane, onEvent: (e) => events.push(e) });
    await expect(cache.ready).resolves.toBeUndefined();
    expect(ofType(events, 'CACHE_L2_ERROR')).toEqual([
      { type: 'CACHE_L2_ERROR', scope: '', key: '', at: T0, operation: 'subscribe', error: refused },
    ]);
    expect(cache.stats().l2Errors).toBe(1);
    expect(await cache.scope('s').getOrSet('k', async () => 1)).toBe(1);
  });

  it('a lock whose tryAcquire rejects: the factory runs at once (no deadlock), and it is reported', async () => {
    const refused = new Error('ECONNREFUSED');
    const lock: DistributedLock = { tryAcquire: () => Promise.reject(refused) };
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new MemoryStore(), lock, distributedLock: true, lockTimeout: '1m', onEvent: (e) => events.push(e) });
    const factory = jest.fn(async () => 'value');
    const calls = Array.from({ length: 10 }, () => cache.scope('s').getOrSet('k', factory));
    await settle(); // no time passes: nothing waits for the lock's timeout
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, () => 'value'));
    expect(factory).toHaveBeenCalledTimes(1);
    expect(ofType(events, 'CACHE_L2_ERROR')).toEqual([
      { type: 'CACHE_L2_ERROR', scope: 's', key: 's:k', at: T0, operation: 'lock', error: refused },
    ]);
  });

  it('a lock whose release rejects: the call still answers, and the failure is reported', async () => {
    const refused = new Error('ECONNRESET');
    const inner = new MemoryLock();
    const lock: DistributedLock = {
      tryAcquire: async (key, ttl) => ((await inner.tryAcquire(key, ttl)) === undefined ? undefined : () => Promise.reject(refused)),
    };
    const events: CacheEvent[] = [];
    const cache = new Cache({ store: new MemoryStore(), lock, distributedLock: true, lockTimeout: 1_000, onEvent: (e) => events.push(e) });
    expect(await cache.scope('s').getOrSet('k', async () => 'value')).toBe('value');
    expect(ofType(events, 'CACHE_L2_ERROR')).toMatchObject([{ operation: 'unlock', key: 's:k', error: refused }]);
  });
});

describe('atomic operations through the L2', () => {
  it('setIfAbsent: of concurrent callers in several processes exactly one wins, and everyone then reads its value', async () => {
    const { caches, store } = processes(4);
    const won = await Promise.all(caches.map((c, i) => c.scope<string>('s').setIfAbsent('k', `from ${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = `from ${won.indexOf(true)}`;
    await settle();
    for (const c of caches) expect(await c.scope<string>('s').get('k')).toBe(winner);
    // A later process, with an empty L1, loses too.
    const late = new Cache({ store });
    expect(await late.scope<string>('s').setIfAbsent('k', 'late')).toBe(false);
    expect(await late.scope<string>('s').get('k')).toBe(winner);
  });

  it('setIfAbsent succeeds again once the winner\'s entry expired or was removed elsewhere', async () => {
    const { caches } = processes(2, { ttl: 1_000 });
    const [a, b] = caches as [Cache, Cache];
    expect(await a.scope('s').setIfAbsent('k', 'a')).toBe(true);
    expect(await b.scope('s').setIfAbsent('k', 'b')).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await b.scope('s').setIfAbsent('k', 'b')).toBe(true);
    await settle();
    expect(await a.scope('s').setIfAbsent('k', 'a again')).toBe(false);
    expect(await a.scope('s').get('k')).toBe('b');
    await b.scope('s').remove('k');
    await settle();
    expect(await a.scope('s').setIfAbsent('k', 'a again')).toBe(true);
  });

  it('incr: concurrent increments in 4 processes add up, each result is distinct, and every process reads the total', async () => {
    const { caches, store } = processes(4);
    const results = await Promise.all(caches.flatMap((c) => Array.from({ length: 25 }, () => c.scope('s').incr('n'))));
    expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await read(store, 's:n')).toBe(100);
    await settle();
    for (const c of caches) expect(await c.scope('s').get('n')).toBe(100);
    expect(await caches[2]?.scope('s').incr('n', -10)).toBe(90);
    await settle();
    expect(await caches[0]?.scope('s').get('n')).toBe(90);
  });

  it('incr keeps the L2 entry\'s timeline in every process: the counter expires everywhere at once', async () => {
    const { caches } = processes(2, { ttl: 1_000 });
    const [a, b] = caches as [Cache, Cache];
    expect(await a.scope('s').incr('n')).toBe(1); // written at T0: fresh until T0 + 1 s
    await jest.advanceTimersByTimeAsync(500);
    expect(await b.scope('s').incr('n')).toBe(2); // an existing entry keeps its expiry
    await settle();
    await jest.advanceTimersByTimeAsync(499);
    expect(await a.scope('s').get('n')).toBe(2);
    expect(await b.scope('s').get('n')).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(await a.scope('s').get('n')).toBeUndefined();
    expect(await b.scope('s').get('n')).toBeUndefined();
  });

  it('incr on a value that is not a number rejects with a TypeError, also when only the L2 holds it', async () => {
    const { caches } = processes(2);
    const [a, b] = caches as [Cache, Cache];
    await a.scope('s').set('word', 'hello');
    await expect(b.scope('s').incr('word')).rejects.toThrow(TypeError);
    await expect(a.scope('s').incr('word')).rejects.toThrow(TypeError);
  });
});

describe('close()', () => {
  /** A store whose writes take `delay` ms to land, like a network round trip. */
  class SlowWrites extends CountingStore {
    constructor(
      inner: CacheStore,
      private readonly delay: number,
    ) {
      super(inner);
    }
    override setMany(entries: ReadonlyArray<readonly [string, StoredEntry]>): Promise<void> {
      return sleep(this.delay).then(() => super.setMany(entries));
    }
  }

  it('resolves only after the loads in progress and their L2 writes have settled, then stops listening', async () => {
    const store = new MemoryStore();
    const hub = new MemoryBackplaneHub();
    const a = new Cache({ store: new SlowWrites(store, 50), backplane: hub.connect() });
    const b = new Cache({ store, backplane: hub.connect() });
    await Promise.all([a.ready, b.ready]);
    const inA = a.scope<string>('s');

    // Control: while open, A drops its copy when B writes.
    const first = inA.set('c', 'a');
    await jest.advanceTimersByTimeAsync(50);
    await first;
    await b.scope('s').set('c', 'b');
    await settle();
    expect(inA.keys()).not.toContain('c');

    const load = inA.getOrSet('k', () => sleep(100).then(() => 'loaded'));
    const write = inA.set('w', 'written'); // not awaited by its caller
    let closed = false;
    const closing = a.close().then(() => {
      closed = true;
    });

    await jest.advanceTimersByTimeAsync(99);
    expect(closed).toBe(false);
    await jest.advanceTimersByTimeAsync(1); // the factory answered; its L2 write takes 50 ms more
    expect(closed).toBe(false);
    expect(await read(store, 's:k')).toBeUndefined();
    await jest.advanceTimersByTimeAsync(49);
    expect(closed).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await closing;
    expect(closed).toBe(true);
    expect(await load).toBe('loaded');
    await write;
    expect(await read(store, 's:k')).toBe('loaded');
    expect(await read(store, 's:w')).toBe('written');

    // Closed: B's writes no longer reach A's L1.
    expect(inA.keys()).toContain('k');
    await b.scope('s').set('k', 'changed by B');
    await settle();
    expect(inA.keys()).toContain('k');
    expect(await inA.get('k')).toBe('loaded');
  });

  it('waits for an un-awaited write\'s publish too, so the other processes are told before close() resolves', async () => {
    const store = new MemoryStore();
    const hub = new MemoryBackplaneHub();
    const published: BackplaneMessage[] = [];
    const inner = hub.connect();
    const a = new Cache({
      store: new SlowWrites(store, 20),
      backplane: {
        publish: (m) => sleep(5).then(() => {
          published.push(m);
          return inner.publish(m);
        }),
        subscribe: (onMessage, onReconnect) => inner.subscribe(onMessage, onReconnect),
        unsubscribe: () => inner.unsubscribe(),
      },
    });
    await a.ready;
    void a.scope('s').set('k', 'v');
    let publishedWhenClosed: BackplaneMessage[] | undefined;
    const closing = a.close().then(() => {
      publishedWhenClosed = [...published];
    });
    await jest.advanceTimersByTimeAsync(20); // the L2 write landed; the publish takes 5 ms more
    expect(await read(store, 's:k')).toBe('v');
    expect(publishedWhenClosed).toBeUndefined();
    await jest.advanceTimersByTimeAsync(5);
    await closing;
    expect(publishedWhenClosed).toEqual([{ type: 'keys', source: a.id, keys: ['s:k'] }]);
  });
});

describe('an L2 answer that crosses an invalidation', () => {
  /** Each call reaches the store at once, but its answer takes `delay` ms to come back (the network). */
  class SlowReplies extends CountingStore {
    constructor(
      inner: CacheStore,
      private readonly delay: number,
    ) {
      super(inner);
    }
    override getMany(keys: readonly string[]) {
      return super.getMany(keys).then(async (found) => (await sleep(this.delay), found));
    }
    override increment(key: string, by: number, absent: StoredEntry<number>) {
      return super.increment(key, by, absent).then(async (n) => (await sleep(this.delay), n));
    }
    override setIfAbsent(key: string, entry: StoredEntry) {
      return super.setIfAbsent(key, entry).then(async (wrote) => (await sleep(this.delay), wrote));
    }
  }

  function slowAndFast() {
    const store = new MemoryStore();
    const hub = new MemoryBackplaneHub();
    const slow = new Cache({ store: new SlowReplies(store, 10), backplane: hub.connect() });
    const fast = new Cache({ store, backplane: hub.connect() });
    return { store, slow: slow.scope<unknown>('s'), fast: fast.scope<unknown>('s') };
  }

  it.each([
    ['get', (s: CacheScope<unknown>) => s.get('k')],
    ['getMany', (s: CacheScope<unknown>) => s.getMany(['k']).then(([v]) => v)],
  ])('%s: a value read just before another process replaced it is answered, but not kept in L1', async (_name, readK) => {
    const { slow, fast } = slowAndFast();
    await fast.set('k', 'old');
    await settle();

    const reading = readK(slow); // reaches the L2 now, answer in 10 ms
    await jest.advanceTimersByTimeAsync(1);
    await fast.set('k', 'new'); // the other process's message arrives before the answer
    await jest.advanceTimersByTimeAsync(10);
    expect(await reading).toBe('old');

    expect(slow.keys()).not.toContain('k');
    const next = slow.get('k');
    await jest.advanceTimersByTimeAsync(10);
    expect(await next).toBe('new');
  });

  it('getOrSet: a load whose L2 read crosses another process\'s write does not keep the old value either', async () => {
    const { slow, fast } = slowAndFast();
    await fast.set('k', 'old');
    await settle();
    const loading = slow.getOrSet('k', async () => 'factory');
    await jest.advanceTimersByTimeAsync(1);
    await fast.set('k', 'new');
    await jest.advanceTimersByTimeAsync(10);
    expect(await loading).toBe('old');
    expect(slow.keys()).not.toContain('k');
  });

  it('incr: a count overtaken by another process\'s increment is not kept in L1', async () => {
    const { slow, fast } = slowAndFast();
    const first = slow.incr('n'); // counted 1 at once, answer in 10 ms
    await jest.advanceTimersByTimeAsync(1);
    expect(await fast.incr('n')).toBe(2);
    await jest.advanceTimersByTimeAsync(10);
    expect(await first).toBe(1);
    const next = slow.get('n');
    await jest.advanceTimersByTimeAsync(10);
    expect(await next).toBe(2);
  });

  it('setIfAbsent: a won write overtaken by another process\'s write is not kept in L1', async () => {
    const { slow, fast } = slowAndFast();
    const won = slow.setIfAbsent('k', 'mine');
    await jest.advanceTimersByTimeAsync(1);
    await fast.set('k', 'theirs');
    await jest.advanceTimersByTimeAsync(10);
    expect(await won).toBe(true);
    const next = slow.get('k');
    await jest.advanceTimersByTimeAsync(10);
    expect(await next).toBe('theirs');
  });
});
