/**
 * RedisStore against real servers: the CacheStore contract suite (the one MemoryStore passes) on the
 * shared standalone Redis and on a private 3-master Cluster, with both built-in serializers; then what
 * the contract cannot see (key layout, expiry in Redis, tag keys, garbage, round trips, the breaker).
 *
 * Time: the contract moves time with `advance(ms)`. The store takes an injected clock for every
 * freshUntil / staleUntil decision and computes PX from it, so `advance` moves that clock instead of
 * waiting real seconds; Redis's own PX expiry still runs on real time and is tested with short waits.
 */
import { Cluster, Redis } from 'ioredis';
import type { StoredEntry } from '@toolkit/cache';
import { RedisStore, jsonSerializer, v8Serializer } from '@toolkit/cache-redis';
import type { RedisSerializer } from '@toolkit/cache-redis';
import { storeContract } from '../../../cache/test/storeContract';
import { closeClient, startRedisCluster, startRedisServer } from '../redisServers';
import type { RedisClusterHandle, RedisServerHandle } from '../redisServers';
import { cleanupPrefix, testRedisUrl, uniquePrefix } from '../sharedRedis';
import { commandsSent } from '../commandsSent';

/** `uniquePrefix` has ':' in it, which a store prefix may not: the same name with '.' instead. */
function storePrefix(name: string): string {
  return uniquePrefix(name).replaceAll(':', '.');
}

/**
 * A clock that stands still until the test moves it, starting at the real time (Redis PX is computed from
 * it). It must not tick by itself: the contract reads `now()` twice per entry and expects exact spans.
 */
function movableClock() {
  const start = Date.now();
  let offset = 0;
  return {
    clock: { now: () => start + offset },
    advance: async (ms: number) => {
      offset += ms;
    },
  };
}

function sharedClient(): Redis {
  const client = new Redis(testRedisUrl(), { enableAutoPipelining: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  client.on('error', () => undefined);
  return client;
}

const entry = <V>(value: V, freshMs: number, staleMs = freshMs, tags: string[] = []): StoredEntry<V> => ({
  value,
  freshUntil: Date.now() + freshMs,
  staleUntil: Date.now() + staleMs,
  tags,
});

describe('on the shared standalone Redis', () => {
  let client: Redis;
  beforeAll(() => {
    client = sharedClient();
  });
  afterAll(() => closeClient(client));

  for (const serializer of [jsonSerializer, v8Serializer]) {
    storeContract(`RedisStore (standalone, ${serializer.name})`, async () => {
      const prefix = storePrefix(`contract-${serializer.name}`);
      const { clock, advance } = movableClock();
      const store = new RedisStore({ client, prefix, serializer, clock });
      return {
        store,
        advance,
        now: () => clock.now(),
        dispose: async () => {
          await store.close();
          await cleanupPrefix(testRedisUrl(), prefix);
        },
      };
    });
  }
});

describe('on a private 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle | undefined;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.nodes, {
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => (times > 5 ? null : 100),
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
    });
    client.on('error', () => undefined);
  }, 60_000);
  afterAll(async () => {
    if (client !== undefined) closeClient(client);
    await cluster?.stop();
  });

  for (const serializer of [jsonSerializer, v8Serializer]) {
    storeContract(`RedisStore (Cluster, ${serializer.name})`, async () => {
      const { clock, advance } = movableClock();
      // The cluster is ours and thrown away after the file, but a fresh namespace keeps tests apart.
      const store = new RedisStore({ client, prefix: storePrefix(`cluster-${serializer.name}`), serializer, clock });
      return { store, advance, now: () => clock.now(), dispose: () => store.close() };
    });
  }

  it('spreads one namespace over every master, and deleteByPrefix("") scans them all', async () => {
    const store = new RedisStore({ client, prefix: storePrefix('cluster-spread') });
    const keys = Array.from({ length: 90 }, (_, i) => `k${i}`);
    await store.setMany(keys.map((key, i) => [key, entry(i, 60_000)] as const));
    const perMaster = await Promise.all(
      client.nodes('master').map(async (node) => {
        let count = 0;
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', `${store.namespace}e:*`, 'COUNT', 500);
          cursor = next;
          count += found.length;
        } while (cursor !== '0');
        return count;
      }),
    );
    expect(perMaster).toHaveLength(3);
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(90);
    expect(await store.deleteByPrefix('')).toBe(90);
    expect((await store.getMany(keys)).every((e) => e === undefined)).toBe(true);
  });

  it('deletes leave tombstones on every master: a write stamped before the delete is refused, a newer one lands', async () => {
    const store = new RedisStore({ client, prefix: storePrefix('cluster-tombstones') });
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const at = Date.now();
    await store.setMany(keys.slice(0, 10).map((key) => [key, { ...entry(key, 60_000), stamp: at - 10 }] as const));
    expect(await store.deleteMany(keys.slice(0, 20), at)).toBe(10); // one script per key, each on its own master
    await store.setMany(keys.slice(20).map((key) => [key, { ...entry(key, 60_000), stamp: at - 10 }] as const));
    expect(await store.deleteByPrefix('', at)).toBe(10); // finds the 20 tombstones, counts only the entries
    await store.setMany(keys.map((key) => [key, { ...entry('late', 60_000), stamp: at - 1 }] as const));
    expect((await store.getMany(keys)).every((e) => e === undefined)).toBe(true);
    await store.setMany(keys.map((key) => [key, { ...entry('newer', 60_000), stamp: at + 1 }] as const));
    expect((await store.getMany(keys)).map((e) => (e as StoredEntry).value)).toEqual(keys.map(() => 'newer'));
    await store.deleteByPrefix('');
  });

  it('RedisStore.connect reads a comma list of nodes as a Cluster', async () => {
    const store = RedisStore.connect(`redis://${cluster!.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}`, {
      prefix: storePrefix('cluster-connect'),
    });
    try {
      expect(store.client.isCluster).toBe(true);
      await store.setMany([['a', entry('A', 60_000)]]);
      expect((await store.getMany(['a']))[0]).toMatchObject({ value: 'A' });
    } finally {
      await store.close();
    }
    expect(store.client.status).toBe('end');
  });
});

describe('RedisStore beyond the contract (shared Redis)', () => {
  let client: Redis;
  const prefixes: string[] = [];
  /** A store in a fresh namespace, cleaned up after the test. */
  function makeStore(options: { serializer?: RedisSerializer; version?: string; prefix?: string } = {}): RedisStore {
    const prefix = options.prefix ?? storePrefix('store');
    prefixes.push(prefix);
    return new RedisStore({ client, ...options, prefix });
  }

  beforeAll(() => {
    client = sharedClient();
  });
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) await cleanupPrefix(testRedisUrl(), prefix);
  });
  afterAll(() => closeClient(client));

  it('refuses a prefix or version that could reach another namespace, naming the option', () => {
    for (const bad of ['a:b', 'a*', 'a?', 'a[1]', 'a\\b', 'a b', 'a\n', '{a}', '']) {
      expect(() => new RedisStore({ client, prefix: bad })).toThrow(TypeError);
      expect(() => new RedisStore({ client, prefix: bad })).toThrow('`prefix`');
      expect(() => new RedisStore({ client, version: bad })).toThrow('`version`');
    }
    expect(() => new RedisStore({ client, prefix: 'shop-prod.eu_1', version: 'v2' })).not.toThrow();
    expect(() => new RedisStore({ client, timeoutMs: 0 })).toThrow('`timeoutMs`');
    expect(() => new RedisStore({ client, breaker: { consecutiveFailures: 0 } })).toThrow('`breaker.consecutiveFailures`');
    expect(() => new RedisStore({ client, breaker: { probeEvery: 0 } })).toThrow(new RangeError('`breaker.probeEvery` must be positive and finite, got 0'));
    expect(() => new RedisStore({ client, breaker: { probeEvery: 'often' } })).toThrow('`breaker.probeEvery`');
    expect(() => new RedisStore({ client: {} as Redis })).toThrow('`client`');
  });

  it('lays keys out as prefix:version:e:key, with PX at staleUntil and none for Infinity', async () => {
    const store = makeStore({ version: 'v7' });
    expect(store.namespace).toBe(`${store.prefix}:v7:`);
    await store.setMany([
      ['user:1', entry({ name: 'Ada' }, 10_000, 20_000, ['user'])],
      ['forever', { value: 1, freshUntil: Infinity, staleUntil: Infinity, tags: [] }],
    ]);
    const pttl = await client.pttl(`${store.prefix}:v7:e:user:1`);
    expect(pttl).toBeGreaterThan(19_000);
    expect(pttl).toBeLessThanOrEqual(20_000);
    expect(await client.pttl(`${store.prefix}:v7:e:forever`)).toBe(-1);
    // The tag's version key outlives the entry carrying it.
    expect(await client.pttl(store.tagKey('user'))).toBeGreaterThan(20_000);
    // JSON on the wire: a header line with the timeline (null = Infinity), then the value.
    const [header, value] = String(await client.get(`${store.prefix}:v7:e:forever`)).split('\n');
    expect(JSON.parse(header as string)).toEqual({ f: null, s: null, t: [], v: [] });
    expect(value).toBe('1');
  });

  it('does not write an entry that is already stale, and deletes what was there', async () => {
    const store = makeStore();
    await store.setMany([['k', entry('old', 60_000)]]);
    await store.setMany([['k', entry('dead', -2_000, -1_000)]]);
    expect(await client.exists(store.entryKey('k'))).toBe(0);
  });

  it('lets Redis expire an entry by itself at staleUntil (real time)', async () => {
    const store = makeStore();
    await store.setMany([['short', entry('v', 100, 250)]]);
    expect((await store.getMany(['short']))[0]).toMatchObject({ value: 'v' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await client.exists(store.entryKey('short'))).toBe(0);
  });

  it('answers an Error in the slot of a value it cannot decode, and still answers the others', async () => {
    const store = makeStore();
    await store.setMany([['good', entry('fine', 60_000)]]);
    await client.set(store.entryKey('garbage'), Buffer.from([0xff, 0x00, 0x13, 0x37]));
    await client.set(store.entryKey('not-an-entry'), '{"f":1}\n"x"');
    const [good, garbage, notAnEntry] = await store.getMany(['good', 'garbage', 'not-an-entry']);
    expect(good).toMatchObject({ value: 'fine' });
    expect(garbage).toBeInstanceOf(Error);
    expect((garbage as Error).message).toContain('"garbage"');
    expect(notAnEntry).toBeInstanceOf(Error);
    // Garbage is no live entry: setIfAbsent and increment replace it.
    expect(await store.setIfAbsent('garbage', entry('clean', 60_000))).toBe(true);
    expect(await store.increment('not-an-entry', 2, entry(0, 60_000))).toBe(2);
  });

  it('a v8 store keeps Dates, Maps, Sets and BigInts; JSON keeps plain data', async () => {
    const value = { at: new Date('2024-01-02T03:04:05Z'), map: new Map([['a', 1]]), set: new Set([1, 2]), big: 10n ** 20n };
    const v8 = makeStore({ serializer: v8Serializer });
    await v8.setMany([['rich', entry(value, 60_000)]]);
    expect((await v8.getMany(['rich']))[0]).toMatchObject({ value });
    const json = makeStore();
    await expect(json.setMany([['rich', entry(value, 60_000)]])).rejects.toThrow(TypeError); // BigInt
  });

  it('a JSON increment keeps a float exact and the entry readable by JSON.parse', async () => {
    const store = makeStore();
    const absent = entry(0, 60_000);
    expect(await store.increment('f', 0.1, absent)).toBe(0.1);
    expect(await store.increment('f', 0.2, absent)).toBe(0.1 + 0.2);
    expect(await store.increment('f', 1e300, absent)).toBe(0.1 + 0.2 + 1e300);
    await expect(store.increment('f', Number.MAX_VALUE, absent)).rejects.toThrow(RangeError);
    expect((await store.getMany(['f']))[0]).toMatchObject({ value: 0.1 + 0.2 + 1e300 });
  });

  it('increments an entry that carries tags, and restarts it once a tag was invalidated', async () => {
    for (const serializer of [jsonSerializer, v8Serializer]) {
      const store = makeStore({ serializer });
      const absent = entry(0, 60_000, 60_000, ['counter', 'other']);
      expect(await store.increment('n', 1, absent)).toBe(1);
      expect(await store.increment('n', 1, absent)).toBe(2);
      await store.invalidateTags(['other']);
      expect(await store.getMany(['n'])).toEqual([undefined]);
      expect(await store.increment('n', 5, absent)).toBe(5);
      expect((await store.getMany(['n']))[0]).toMatchObject({ value: 5, tags: ['counter', 'other'] });
    }
  });

  it('treats an entry whose tag key is gone as invalidated (a lost tag never revives an entry)', async () => {
    const store = makeStore();
    await store.setMany([['k', entry('v', 60_000, 60_000, ['t'])]]);
    expect((await store.getMany(['k']))[0]).toMatchObject({ value: 'v' });
    await client.del(store.tagKey('t'));
    expect(await store.getMany(['k'])).toEqual([undefined]);
  });

  it('invalidating a tag no entry carries creates no key', async () => {
    const store = makeStore();
    await store.invalidateTags(['nobody']);
    expect(await client.exists(store.tagKey('nobody'))).toBe(0);
  });

  it('keeps namespaces apart: clearing one leaves another prefix, another version, tags and locks alone', async () => {
    const prefix = storePrefix('apart');
    const a = makeStore({ prefix, version: 'v1' });
    const b = makeStore({ prefix, version: 'v2' });
    await a.setMany([['k', entry('a', 60_000, 60_000, ['t'])]]);
    await b.setMany([['k', entry('b', 60_000)]]);
    // A user key that looks like another namespace's key stays inside its own namespace.
    await a.setMany([[`../${prefix}:v2:e:k`, entry('sneaky', 60_000)]]);
    await client.set(`${prefix}:v1:l:lock`, 'token');
    expect(await a.deleteByPrefix('')).toBe(2);
    expect(await a.deleteMatching('*')).toBe(0);
    expect((await b.getMany(['k']))[0]).toMatchObject({ value: 'b' });
    expect(await client.exists(a.tagKey('t'), `${prefix}:v1:l:lock`)).toBe(2);
  });

  it('reads 200 keys with one MGET, and their tags with one more', async () => {
    const store = makeStore();
    const keys = Array.from({ length: 200 }, (_, i) => `many:${i}`);
    await store.setMany(keys.map((k, i) => [k, entry(i, 60_000, 60_000, [`t${i % 7}`])] as const));
    const { result: got, sent } = await commandsSent(client, () => store.getMany(keys));
    expect(got.map((e) => (e as StoredEntry).value)).toEqual(keys.map((_, i) => i));
    expect(sent).toEqual(['mget', 'mget']);
  });

  it.each([
    ['json', jsonSerializer, ['evalsha']],
    // v8 bytes cannot be corrected by the script: a wrong guess of a version costs one more call.
    ['v8', v8Serializer, ['evalsha', 'evalsha']],
  ])('writes a tagged entry and its tag bookkeeping in one script, from a store that never saw the tags (%s)', async (_name, serializer, calls) => {
    const first = makeStore({ serializer });
    await first.setMany([['seed', entry('s', 60_000, 60_000, ['a', 'b'])]]); // tags a and b exist now
    const other = new RedisStore({ client, prefix: first.prefix, serializer }); // another process: knows no versions
    const { sent } = await commandsSent(client, () => other.setMany([['k', entry('v', 60_000, 60_000, ['a', 'b'])]]));
    expect(sent).toEqual(calls);
    expect(await first.getMany(['k', 'seed'])).toMatchObject([{ value: 'v', tags: ['a', 'b'] }, { value: 's' }]);
    await first.invalidateTags(['b']);
    expect(await other.getMany(['k', 'seed'])).toEqual([undefined, undefined]);
  });
});

describe('RedisStore when Redis fails (a private server)', () => {
  let server: RedisServerHandle | undefined;
  let store: RedisStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await server?.stop();
    server = undefined;
  });

  it('times out, opens its breaker (failing fast), and recovers by itself once Redis is back', async () => {
    server = await startRedisServer();
    store = RedisStore.connect(server.url, { prefix: 'fault', timeoutMs: 200, breaker: { consecutiveFailures: 3, halfOpenAfter: 300 } });
    await store.setMany([['k', entry('v', 60_000)]]);
    expect(store.breakerState).toBe('closed');

    await server.kill();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await expect(store.getMany(['k'])).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(1_000);
    }
    expect(store.breakerState).toBe('open');
    const started = performance.now();
    await expect(store.ping()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(50); // open: Redis is not even tried

    await server.restart();
    const deadline = Date.now() + 10_000;
    let answered = false;
    while (!answered && Date.now() < deadline) {
      answered = await store.ping().then(
        () => true,
        () => false,
      );
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered).toBe(true);
    expect(store.breakerState).toBe('closed');
    // A fresh process without persistence: the entry is gone, the store works again.
    expect(await store.getMany(['k'])).toEqual([undefined]);
  });

  it('a caller TypeError (increment of a string) does not count against Redis', async () => {
    server = await startRedisServer();
    store = RedisStore.connect(server.url, { breaker: { consecutiveFailures: 1 } });
    await store.setMany([['s', entry('text', 60_000)]]);
    await expect(store.increment('s', 1, entry(0, 60_000))).rejects.toThrow(TypeError);
    await expect(store.increment('s', 1, entry(0, 60_000))).rejects.toThrow(TypeError);
    expect(store.breakerState).toBe('closed');
  });
});

