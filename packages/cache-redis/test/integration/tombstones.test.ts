/**
 * Deletes leave tombstones, on the shared Redis (each test in a namespace of its own, cleaned up after):
 * a load that started before a remove and finishes after it cannot bring its value back into Redis; every
 * reader, in any process, takes a tombstone for a missing key; a newer write replaces it; it leaves by
 * itself after `tombstoneTtl`. With both built-in serializers: the JSON one is ordered inside the write
 * script, the v8 one by the client's read and a compare-and-set. Real timers; every wait is bounded.
 */
import { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { CacheEventMap, Duration, StoredEntry } from '@toolkit/cache';
import { RedisBackplane, RedisStore, v8Serializer } from '@toolkit/cache-redis';
import type { RedisSerializer } from '@toolkit/cache-redis';
import { closeClient, within } from '../redisServers';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';
import { commandsSent } from '../commandsSent';

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** `uniquePrefix` has ':' in it, which a store prefix may not: the same name with '.' instead. */
const storePrefix = (name: string) => uniquePrefix(name).replaceAll(':', '.');

const entry = <V>(value: V, stamp?: number): StoredEntry<V> => ({
  value,
  freshUntil: Date.now() + 60_000,
  staleUntil: Date.now() + 60_000,
  tags: [],
  ...(stamp === undefined ? {} : { stamp }),
});

let raw: Redis;
const prefixes: string[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  raw = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
  raw.on('error', () => undefined);
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await within(close(), 5_000, 'a cleanup');
  for (const prefix of prefixes.splice(0)) await cleanupPrefix(testRedisUrl(), prefix);
});
afterAll(() => closeClient(raw));

interface Options {
  serializer?: RedisSerializer | undefined;
  tombstoneTtl?: Duration;
}

/** A fresh namespace for one test. */
function namespace(name: string): string {
  const prefix = storePrefix(name);
  prefixes.push(prefix);
  return prefix;
}

function storeOn(prefix: string, options: Options = {}): RedisStore {
  const { serializer, ...rest } = options;
  // A roomy timeout: no fault here, and a busy machine must not turn a slow reply into an L2 error.
  const store = RedisStore.connect(testRedisUrl(), { prefix, timeoutMs: 2_000, ...rest, ...(serializer === undefined ? {} : { serializer }) });
  closers.push(() => store.close());
  return store;
}

/** One "process": a cache on connections of its own; `backplane: false` for one that hears no other. */
async function processOn(prefix: string, options: Options & { backplane?: boolean } = {}) {
  const { backplane: hears, ...storeOptions } = options;
  const store = storeOn(prefix, storeOptions);
  const backplane = hears === false ? undefined : RedisBackplane.connect(testRedisUrl(), { prefix, timeoutMs: 2_000 });
  const errors: Array<CacheEventMap['CACHE_L2_ERROR']> = [];
  const cache = new Cache({
    ttl: 60_000,
    store,
    ...(backplane === undefined ? {} : { backplane }),
    onEvent: (e) => e.type === 'CACHE_L2_ERROR' && errors.push(e),
  });
  closers.push(async () => {
    await cache.close();
    await backplane?.close();
  });
  await within(cache.ready, 5_000, 'subscribing');
  await within(store.ping(), 5_000, 'PING');
  return { cache, store, errors, items: cache.scope<string>('items'), counters: cache.scope<number>('counters') };
}

/** What Redis holds under an entry's key, as text, and its PTTL. */
async function held(store: RedisStore, key: string): Promise<[string | null, number]> {
  return [await raw.get(store.entryKey(key)), await raw.pttl(store.entryKey(key))];
}

const TOMBSTONE = /^\{"d":1,"w":(\d+)\}\n$/;

describe.each([
  ['json', undefined],
  ['v8', v8Serializer],
])('tombstones, %s serializer (shared Redis)', (_name, serializer) => {
  it('a load that started before a remove and finishes after it leaves Redis empty: every process misses, the next load stores', async () => {
    const prefix = namespace('tomb-race');
    // The slow loader hears no backplane: only the tombstone can stop its late write.
    const slow = await processOn(prefix, { serializer, backplane: false });
    const remover = await processOn(prefix, { serializer });
    const other = await processOn(prefix, { serializer });
    const full = remover.items.fullKey('k');

    const loadStartedAt = Date.now();
    const loading = slow.items.getOrSet('k', async () => {
      await sleep(300);
      return 'v1 (loaded from before the remove)';
    });
    await sleep(100);
    // Nothing in Redis yet (the load has not written): the remove still leaves a tombstone.
    expect(await remover.items.remove('k')).toBe(false);
    const [tombstone, pttl] = await held(remover.store, full);
    expect(tombstone).toMatch(TOMBSTONE);
    // Its stamp is the remove's time on the cache's clock: after the load's start.
    const stamp = Number(TOMBSTONE.exec(tombstone as string)?.[1]);
    expect(stamp).toBeGreaterThan(loadStartedAt + 50);
    expect(stamp).toBeLessThanOrEqual(Date.now());
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    expect(await within(loading, 2_000, 'the slow load')).toBe('v1 (loaded from before the remove)');
    // The load's write arrived and was refused: Redis still holds the same tombstone.
    expect((await held(remover.store, full))[0]).toBe(tombstone);
    expect(await remover.store.getMany([full])).toEqual([undefined]);
    expect(await remover.items.get('k')).toBeUndefined();
    expect(await other.items.get('k')).toBeUndefined();
    expect(await other.items.has('k')).toBe(false);

    // The next load, from any process, stores its value over the tombstone.
    expect(await other.items.getOrSet('k', async () => 'v2')).toBe('v2');
    expect((await remover.store.getMany([full]))[0]).toMatchObject({ value: 'v2' });
    expect(await remover.items.get('k')).toBe('v2');
    expect([...slow.errors, ...remover.errors, ...other.errors]).toEqual([]);
  });

  it('setIfAbsent and incr take a tombstone for an absent key', async () => {
    const prefix = namespace('tomb-atomic');
    const a = await processOn(prefix, { serializer });
    const b = await processOn(prefix, { serializer });

    await a.items.set('lock', 'a');
    expect(await b.items.setIfAbsent('lock', 'b')).toBe(false);
    await a.items.remove('lock');
    expect((await held(a.store, a.items.fullKey('lock')))[0]).toMatch(TOMBSTONE);
    expect(await b.items.setIfAbsent('lock', 'b')).toBe(true);
    expect(await a.items.setIfAbsent('lock', 'a')).toBe(false);
    expect(await a.items.get('lock')).toBe('b');

    expect(await a.counters.incr('n', 5)).toBe(5);
    expect(await b.counters.incr('n', 1)).toBe(6);
    await a.counters.remove('n');
    expect((await held(a.store, a.counters.fullKey('n')))[0]).toMatch(TOMBSTONE);
    expect(await b.counters.incr('n', 1)).toBe(1); // from 0, not 6
    expect(await a.counters.incr('n', 2)).toBe(3);
    expect(await a.counters.get('n')).toBe(3);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('orders writes after a delete by stamp: older refused, same stamp or newer written; a later delete keeps the later stamp', async () => {
    const store = storeOn(namespace('tomb-order'), { serializer });
    const at = Date.now();
    await store.setMany([['k', entry('v0', at - 10)]]);
    expect(await store.deleteMany(['k', 'never-written'], at)).toBe(1);
    // Both keys hold a tombstone: a load of a key that was not in Redis yet is stopped too.
    expect((await held(store, 'never-written'))[0]).toBe(`{"d":1,"w":${at}}\n`);
    // A tombstone is no entry: deleting again counts nothing.
    expect(await store.deleteMany(['k'], at - 5)).toBe(0);
    expect((await held(store, 'k'))[0]).toBe(`{"d":1,"w":${at}}\n`); // an older delete does not lower it

    await store.setMany([
      ['k', entry('older', at - 1)],
      ['never-written', entry('older', at - 1)],
    ]);
    expect(await store.getMany(['k', 'never-written'])).toEqual([undefined, undefined]);
    await store.setMany([['k', entry('same stamp', at)]]);
    expect((await store.getMany(['k']))[0]).toMatchObject({ value: 'same stamp' });
    await store.setMany([['never-written', entry('newer', at + 1)]]);
    expect((await store.getMany(['never-written']))[0]).toMatchObject({ value: 'newer' });
    // A write without a stamp is not ordered: it replaces a tombstone too.
    await store.deleteMany(['k'], at + 10);
    await store.setMany([['k', entry('no stamp')]]);
    expect((await store.getMany(['k']))[0]).toMatchObject({ value: 'no stamp' });

    // An entry already stale, written with a stamp, is a delete at that stamp: it leaves a tombstone.
    await store.setMany([['k', { ...entry('dead', at + 20), freshUntil: at - 1_000, staleUntil: at - 1_000 }]]);
    expect((await held(store, 'k'))[0]).toBe(`{"d":1,"w":${at + 20}}\n`);
    await expect(store.deleteMany(['k'], Number.NaN)).rejects.toThrow(new TypeError("a delete's `stamp` must be a finite number of ms since the epoch, got NaN"));
  });

  it('invalidateTags, deleteByPrefix and deleteMatching leave tombstones in place of the keys they delete', async () => {
    const store = storeOn(namespace('tomb-scan'), { serializer });
    const at = Date.now();
    const before = at - 1;
    await store.setMany(['item:5', 'p:1', 'p:2', 'm:1:x', 'kept'].map((key) => [key, entry(key, before - 10)] as const));
    await store.invalidateTags(['item:5'], at);
    expect(await store.deleteByPrefix('p:', at)).toBe(2);
    expect(await store.deleteMatching('m:?:x', at)).toBe(1);
    for (const key of ['item:5', 'p:1', 'p:2', 'm:1:x']) expect((await held(store, key))[0]).toBe(`{"d":1,"w":${at}}\n`);

    // Loads that started before the deletes land late: refused.
    await store.setMany(['item:5', 'p:1', 'p:2', 'm:1:x'].map((key) => [key, entry('late', before)] as const));
    expect((await store.getMany(['item:5', 'p:1', 'p:2', 'm:1:x', 'kept'])).map((e) => (e as StoredEntry | undefined)?.value)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      'kept',
    ]);
    // A scan finds tombstones but counts only entries.
    expect(await store.deleteByPrefix('', at)).toBe(1);
    expect(await store.deleteMatching('*', at)).toBe(0);
  });

  it('a tombstone leaves Redis by itself after tombstoneTtl (real time); then a late write is no longer stopped', async () => {
    const store = storeOn(namespace('tomb-ttl'), { serializer, tombstoneTtl: '300ms' });
    const at = Date.now();
    await store.deleteMany(['k'], at);
    const [tombstone, pttl] = await held(store, 'k');
    expect(tombstone).toBe(`{"d":1,"w":${at}}\n`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    const deadline = Date.now() + 1_500;
    while ((await raw.exists(store.entryKey('k'))) === 1 && Date.now() < deadline) await sleep(50);
    expect(await raw.exists(store.entryKey('k'))).toBe(0);
    // What the TTL bounds: a load slower than it is stored.
    await store.setMany([['k', entry('slower than tombstoneTtl', at - 1)]]);
    expect((await store.getMany(['k']))[0]).toMatchObject({ value: 'slower than tombstoneTtl' });
  });
});

describe('round trips (shared Redis)', () => {
  it('a delete is one command, as the DEL was; reading a tombstone is one MGET, as reading nothing was', async () => {
    const store = storeOn(namespace('tomb-trips'));
    // The server learns each script once (NOSCRIPT, then EVAL): not counted.
    await store.invalidateTags(['warm-up'], Date.now());
    const client = store.client as Redis;
    const deleted = await commandsSent(client, () => store.deleteMany(['a', 'b'], Date.now()));
    expect(deleted).toEqual({ result: 0, sent: ['evalsha'] });
    // The tag's version script and the tombstone script, sent together.
    expect((await commandsSent(client, () => store.invalidateTags(['a'], Date.now()))).sent).toEqual(['evalsha', 'evalsha']);
    const read = await commandsSent(client, () => store.getMany(['a', 'b']));
    expect(read).toEqual({ result: [undefined, undefined], sent: ['mget'] });
  });
});

describe('the tombstoneTtl option', () => {
  it('must be a positive, finite duration: an error names it, before any connection is opened', () => {
    const client = new Redis(testRedisUrl(), { lazyConnect: true });
    try {
      expect(() => new RedisStore({ client, tombstoneTtl: 0 })).toThrow(
        new RangeError('`tombstoneTtl` must be positive and finite (a delete must not leave a key forever), got 0'),
      );
      expect(() => new RedisStore({ client, tombstoneTtl: Number.POSITIVE_INFINITY })).toThrow(RangeError);
      expect(() => new RedisStore({ client, tombstoneTtl: 'soon' })).toThrow(TypeError);
      expect(() => new RedisStore({ client, tombstoneTtl: 'soon' })).toThrow('`tombstoneTtl`');
      expect(() => RedisStore.connect(testRedisUrl(), { tombstoneTtl: -1 })).toThrow('`tombstoneTtl`');
      expect(new RedisStore({ client, tombstoneTtl: '2m' })).toBeInstanceOf(RedisStore);
    } finally {
      client.disconnect();
    }
  });
});

describe('tag invalidation orders writes as a delete does', () => {
  it('refuses a tagged write stamped before the invalidation, takes one stamped at or after it', async () => {
    const prefix = namespace('tagorder');
    const store = storeOn(prefix);
    const tagged = (value: string, stamp: number): StoredEntry<string> => ({ ...entry(value, stamp), tags: ['t'] });
    const t0 = Date.now();
    await store.setMany([['k', tagged('v0', t0)]]); // the tag gets its first version
    // A load starts at t0 + 1; the tag is invalidated at t0 + 5; the load's write arrives after.
    await store.invalidateTags(['t'], t0 + 5);
    await store.setMany([['k', tagged('v1 loaded before the invalidation', t0 + 1)]]);
    expect((await store.getMany(['k']))[0]).toBeUndefined();
    // Another store (another process) that has never seen the tag is refused the same way.
    const other = storeOn(prefix);
    await other.setMany([['k', tagged('v1 from elsewhere', t0 + 4)]]);
    expect((await other.getMany(['k']))[0]).toBeUndefined();
    // A load that started at or after the invalidation lands.
    await store.setMany([['k', tagged('v2', t0 + 5)]]);
    expect((await other.getMany(['k']))[0]).toMatchObject({ value: 'v2', tags: ['t'] });
    // Writes without a stamp (set by hand, setIfAbsent, incr) are not ordered.
    await store.invalidateTags(['t'], t0 + 10);
    await store.setMany([['k', { ...entry('unstamped'), tags: ['t'] }]]);
    expect((await other.getMany(['k']))[0]).toMatchObject({ value: 'unstamped' });
  });

  it('keeps a Cache load that started before another process invalidated its tag out of Redis', async () => {
    const prefix = namespace('tagrace');
    let finish!: (value: string) => void;
    const slow = new Cache({ store: storeOn(prefix) });
    const invalidator = new Cache({ store: storeOn(prefix) });
    const reader = new Cache({ store: storeOn(prefix) });
    closers.push(() => slow.close(), () => invalidator.close(), () => reader.close());
    const loading = slow.scope('s').getOrSet('k', () => new Promise<string>((done) => (finish = done)), { tags: ['t'] });
    await sleep(5);
    await invalidator.scope('s').set('other', 'x', { tags: ['t'] }); // the tag exists
    await sleep(5);
    await invalidator.invalidateTags(['t']);
    finish('v1, from before the invalidation');
    expect(await loading).toBe('v1, from before the invalidation'); // its caller still gets it
    let loads = 0;
    expect(await reader.scope('s').getOrSet('k', async () => `v2 (load ${++loads})`, { tags: ['t'] })).toBe('v2 (load 1)');
  });
});
