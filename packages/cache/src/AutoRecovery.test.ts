/**
 * Auto-recovery: L2 writes, deletes, tag invalidations and backplane messages that fail are kept and
 * replayed in order once the L2 is usable again, and a message goes out only after its L2 operation landed.
 * Several `Cache` instances on one MemoryStore and one MemoryBackplaneHub stand for processes on one Redis;
 * the outage is a switch on a test double of our own store interface. Fake timers throughout.
 */
import { Cache } from './Cache';
import type { CacheEvent, CacheEventMap } from './events/CacheEvents';
import { isCacheError } from './errors/CacheError';
import type { CacheOptions } from './options/CacheOptions';
import type { Backplane, BackplaneMessage, CacheStore, StoredEntry } from './stores/CacheStore';
import { MemoryBackplaneHub, MemoryStore } from './stores/MemoryStore';
import { defer } from '../test/defer';

const T0 = Date.UTC(2030, 0, 1);

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});

afterEach(() => {
  jest.useRealTimers();
});

const settle = () => jest.advanceTimersByTimeAsync(0);

/** A real MemoryStore behind a switch: while `down`, every call rejects as a refused connection would. */
class SwitchableStore implements CacheStore {
  down = false;
  readonly calls: string[] = [];
  /** Each delete's method and stamp, in order (failed calls included). */
  readonly deletes: Array<[string, number | undefined]> = [];
  readonly #available = new Set<() => void>();

  constructor(readonly inner: MemoryStore) {}

  /** Brings the store back and says so, as RedisStore does on a reconnection. */
  recover(): void {
    this.down = false;
    for (const listener of this.#available) listener();
  }

  onAvailable(listener: () => void): () => void {
    this.#available.add(listener);
    return () => this.#available.delete(listener);
  }

  /** While set, calls wait for it before they run (a slow Redis). */
  hold: Promise<void> | undefined;

  #delete<T>(name: string, stamp: number | undefined, run: () => Promise<T>): Promise<T> {
    this.deletes.push([name, stamp]);
    return this.#call(name, run);
  }

  #call<T>(name: string, run: () => Promise<T>): Promise<T> {
    this.calls.push(name);
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'));
    return this.hold === undefined || name === 'getMany' ? run() : this.hold.then(run);
  }

  getMany = (keys: readonly string[]) => this.#call('getMany', () => this.inner.getMany(keys));
  setMany = (entries: ReadonlyArray<readonly [string, StoredEntry]>) => this.#call('setMany', () => this.inner.setMany(entries));
  setIfAbsent = (key: string, entry: StoredEntry) => this.#call('setIfAbsent', () => this.inner.setIfAbsent(key, entry));
  increment = (key: string, by: number, absent: StoredEntry<number>) => this.#call('increment', () => this.inner.increment(key, by, absent));
  deleteMany = (keys: readonly string[], stamp?: number) => this.#delete('deleteMany', stamp, () => this.inner.deleteMany(keys));
  deleteByPrefix = (prefix: string, stamp?: number) => this.#delete('deleteByPrefix', stamp, () => this.inner.deleteByPrefix(prefix));
  deleteMatching = (pattern: string, stamp?: number) => this.#delete('deleteMatching', stamp, () => this.inner.deleteMatching(pattern));
  invalidateTags = (tags: readonly string[], stamp?: number) => this.#delete('invalidateTags', stamp, () => this.inner.invalidateTags(tags));
  ping = () => this.#call('ping', () => this.inner.ping());
}

/** A hub backplane that records what it publishes, and can be switched off. */
class RecordingBackplane implements Backplane {
  down = false;
  readonly sent: BackplaneMessage[] = [];
  constructor(private readonly inner: Backplane) {}
  publish(message: BackplaneMessage): Promise<void> {
    if (this.down) return Promise.reject(new Error('ECONNRESET'));
    this.sent.push(message);
    return this.inner.publish(message);
  }
  subscribe(onMessage: (message: BackplaneMessage) => void, onReconnect: () => void): Promise<void> {
    return this.inner.subscribe(onMessage, onReconnect);
  }
  unsubscribe(): Promise<void> {
    return this.inner.unsubscribe();
  }
}

/** A writer (whose store can go down) and a reader on the same MemoryStore and hub. */
async function twoProcesses(options: CacheOptions = {}) {
  const shared = new MemoryStore();
  const hub = new MemoryBackplaneHub();
  const store = new SwitchableStore(shared);
  const backplane = new RecordingBackplane(hub.connect());
  const events: CacheEvent[] = [];
  const writer = new Cache({ store, backplane, onEvent: (e) => events.push(e), ...options });
  const reader = new Cache({ store: shared, backplane: hub.connect() });
  await Promise.all([writer.ready, reader.ready]);
  return { shared, hub, store, backplane, events, writer, reader, w: writer.scope<string>('s'), r: reader.scope<string>('s') };
}

const l2Errors = (events: CacheEvent[]) => events.filter((e): e is CacheEventMap['CACHE_L2_ERROR'] => e.type === 'CACHE_L2_ERROR');

async function held(store: CacheStore, key: string): Promise<unknown> {
  const [entry] = await store.getMany([key]);
  return entry instanceof Error ? entry : entry?.value;
}

describe('auto-recovery', () => {
  it('a set that failed is not published; once the store is back it is written, then published, and the reader sees it', async () => {
    const { shared, store, backplane, events, w, r } = await twoProcesses();
    await w.set('k', 'v1');
    await settle();
    expect(await r.get('k')).toBe('v1'); // in the reader's L1 now
    const sentBefore = backplane.sent.length;

    store.down = true;
    await expect(w.set('k', 'v2')).resolves.toBeUndefined();
    await settle();
    expect(l2Errors(events).map((e) => [e.operation, e.key])).toEqual([['set', 's:k']]);
    expect(backplane.sent).toHaveLength(sentBefore); // nothing told: the L2 does not have it
    expect(await held(shared, 's:k')).toBe('v1');
    expect(r.getSync('k')).toBe('v1');

    store.recover(); // onAvailable: replayed at once, no timer needed
    await settle();
    expect(await held(shared, 's:k')).toBe('v2');
    expect(backplane.sent.slice(sentBefore)).toEqual([{ type: 'keys', source: expect.any(String), keys: ['s:k'] }]);
    expect(r.getSync('k')).toBeUndefined(); // the reader's copy was dropped
    expect(await r.get('k')).toBe('v2');
    expect(l2Errors(events)).toHaveLength(1);
  });

  it("a replayed delete carries the cache clock's time of the replay, when the store really deletes", async () => {
    const { store, w, writer } = await twoProcesses({ clock: { now: () => Date.now() } });
    store.down = true;
    await w.remove('k');
    await writer.invalidateTags(['t']);
    await w.deleteByPrefix('p:');
    await w.deleteMatch('m:*');
    await jest.advanceTimersByTimeAsync(250);
    store.recover();
    await settle();
    expect(store.deletes).toEqual([
      ['deleteMany', T0],
      ['invalidateTags', T0],
      ['deleteByPrefix', T0],
      ['deleteMatching', T0],
      ['deleteMany', T0 + 250],
      ['invalidateTags', T0 + 250],
      ['deleteByPrefix', T0 + 250],
      ['deleteMatching', T0 + 250],
    ]);
  });

  it('without onAvailable, the replay is retried every retryEvery until the store answers', async () => {
    const { shared, store, w } = await twoProcesses({ autoRecovery: { retryEvery: 200 } });
    store.down = true;
    await w.set('k', 'v');
    store.down = false; // back, but silently
    await jest.advanceTimersByTimeAsync(199);
    expect(await held(shared, 's:k')).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(await held(shared, 's:k')).toBe('v');
  });

  it('keeps the last operation per key, replays in order, and the first successful L2 call starts the replay', async () => {
    const { shared, store, backplane, w, writer } = await twoProcesses();
    await w.setMany([
      ['a', 'a1'],
      ['b', 'b1'],
    ]);
    store.down = true;
    await w.set('a', 'a2');
    await w.remove('b');
    await w.set('c', 'c1');
    await w.set('a', 'a3'); // replaces a2, and moves after c
    await writer.invalidateTags(['t']);
    expect(store.calls.slice(-5)).toEqual(['setMany', 'deleteMany', 'setMany', 'setMany', 'invalidateTags']);
    const sentBefore = backplane.sent.length;
    store.calls.length = 0;

    store.down = false;
    await w.get('unrelated'); // an L2 read that succeeds: the replay follows
    await settle();
    expect(store.calls).toEqual(['getMany', 'deleteMany', 'setMany', 'invalidateTags']);
    expect(await held(shared, 's:a')).toBe('a3');
    expect(await held(shared, 's:b')).toBeUndefined();
    expect(await held(shared, 's:c')).toBe('c1');
    expect(backplane.sent.slice(sentBefore).map((m) => ('keys' in m ? m.keys : 'tags' in m ? m.tags : m.type))).toEqual([
      ['s:b'], // a delete, then the two writes: one store call and one message per run of the same operation
      ['s:c', 's:a'],
      ['t'],
    ]);
  });

  it('a replayed write cannot replace a newer value written by another process meanwhile (stamps)', async () => {
    const { shared, store, w, r } = await twoProcesses({ autoRecovery: { retryEvery: 1_000 } });
    store.down = true;
    await w.set('k', 'old'); // stamp T0
    await jest.advanceTimersByTimeAsync(10);
    await r.set('k', 'newer'); // another process, stamp T0 + 10, straight into the L2
    store.down = false;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(store.calls.filter((c) => c === 'setMany')).toHaveLength(2); // the failed one and its replay
    expect(await held(shared, 's:k')).toBe('newer');
  });

  it('a direct write that lands during a replay does not drop a kept write with a later stamp', async () => {
    const { shared, store, writer } = await twoProcesses();
    const plain = writer.scope<string>('plain');
    const prefixed = writer.scope<string>('prefixed', { keyPrefix: 'x' }); // its 'k' is the full key 'x:k'
    const hold = defer<string>();
    const loading = plain.getOrSet('x:k', () => hold.promise); // its write will carry stamp T0
    await settle();
    await jest.advanceTimersByTimeAsync(10);
    store.down = true;
    await plain.remove('a'); // kept first
    await prefixed.set('k', 'newer'); // stamp T0 + 10, kept second
    store.down = false;
    const gate = defer<void>();
    store.hold = gate.promise; // the replay's first call (the delete) waits
    void writer.scope('other').get('ping'); // a read that succeeds: the replay starts, and waits at the gate
    await settle();
    store.hold = undefined;
    hold.resolve('older');
    expect(await loading).toBe('older'); // its write (stamp T0) lands directly while the replay waits
    gate.resolve();
    await settle();
    expect(await held(shared, 'x:k')).toBe('newer'); // the kept, later write was still replayed after it
  });

  it('a message that failed is sent again after the L2 part, which landed, is not written twice', async () => {
    const { store, backplane, w, r } = await twoProcesses();
    await w.set('k', 'v1');
    await settle();
    expect(await r.get('k')).toBe('v1');
    backplane.down = true;
    await w.set('k', 'v2');
    await settle();
    expect(r.getSync('k')).toBe('v1'); // not told yet
    backplane.down = false;
    store.calls.length = 0;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(store.calls).toEqual([]);
    expect(r.getSync('k')).toBeUndefined();
    expect(await r.get('k')).toBe('v2');
  });

  it('bounded: past maxItems the oldest is dropped, with a CACHE_L2_ERROR E_CACHE_RECOVERY_OVERFLOW naming it', async () => {
    const { shared, store, events, w } = await twoProcesses({ autoRecovery: { maxItems: 2 } });
    store.down = true;
    await w.set('k1', '1');
    await w.set('k2', '2');
    await w.set('k1', '1b'); // same key: replaces, drops nothing
    expect(l2Errors(events).filter((e) => e.operation === 'recovery')).toEqual([]);
    await w.set('k3', '3');
    const dropped = l2Errors(events).filter((e) => e.operation === 'recovery');
    expect(dropped).toEqual([{ type: 'CACHE_L2_ERROR', scope: 's', key: 's:k2', at: T0, operation: 'recovery', error: expect.any(Error) }]);
    expect(isCacheError(dropped[0]?.error)).toBe(true);
    expect(dropped[0]?.error).toMatchObject({ code: 'E_CACHE_RECOVERY_OVERFLOW', key: 's:k2', scope: 's' });
    store.recover();
    await settle();
    expect([await held(shared, 's:k1'), await held(shared, 's:k2'), await held(shared, 's:k3')]).toEqual(['1b', undefined, '3']);
  });

  it('close() makes a last replay, then reports what is still owed as abandoned', async () => {
    const { store, events, writer, w } = await twoProcesses();
    store.down = true;
    await w.set('k', 'v');
    const timers = jest.getTimerCount(); // the retry
    await writer.close();
    const abandoned = l2Errors(events).filter((e) => e.operation === 'recovery');
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]?.error).toMatchObject({ code: 'E_CACHE_RECOVERY_ABANDONED' });
    expect(jest.getTimerCount()).toBe(timers - 1); // no retry left behind
  });

  it('autoRecovery: false drops failed writes (reported) and publishes as before', async () => {
    const { shared, store, backplane, events, w } = await twoProcesses({ autoRecovery: false });
    store.down = true;
    const sentBefore = backplane.sent.length;
    await w.set('k', 'v');
    expect(backplane.sent).toHaveLength(sentBefore + 1);
    store.recover();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(await held(shared, 's:k')).toBeUndefined();
    expect(l2Errors(events).map((e) => e.operation)).toEqual(['set']);
  });

  it('a value the store cannot encode deletes the key instead, so nobody reads the old one; nothing is kept', async () => {
    const shared = new MemoryStore();
    const picky = new SwitchableStore(shared);
    picky.setMany = () => Promise.reject(new TypeError('the JSON serializer cannot encode 1n'));
    const cache = new Cache({ store: picky });
    await shared.setMany([['s:k', { value: 'old', freshUntil: T0 + 60_000, staleUntil: T0 + 60_000, tags: [] }]]);
    await cache.scope('s').set('k', 'new');
    expect(await held(shared, 's:k')).toBeUndefined();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(picky.calls).toEqual(['deleteMany']); // (the refusing setMany is not recorded) nothing kept to replay
  });

  it('rejects bad options, naming them', () => {
    expect(() => new Cache({ autoRecovery: { maxItems: 0 } })).toThrow(new TypeError('`autoRecovery.maxItems` must be a positive integer, got 0'));
    expect(() => new Cache({ autoRecovery: { retryEvery: 'soon' } })).toThrow(/`autoRecovery.retryEvery`/);
    expect(() => new Cache({ autoRecovery: { retryEvery: 0 } })).toThrow(RangeError);
    expect(() => new Cache({ autoRecovery: 'on' as never })).toThrow(new TypeError('`autoRecovery` must be an object or false, got "on"'));
  });
});
