/**
 * Faults, each on a redis-server this file starts for itself (never the shared one): killed mid-run,
 * paused with CLIENT PAUSE, killed and restarted on the same port, garbage bytes under a key. In each the
 * cache answers every call the factory can answer, reports CACHE_L2_ERROR events, and (after a restart)
 * goes back to Redis by itself.
 *
 * The store and backplane have a 200 ms timeout and a breaker that opens after 3 failures and half-opens
 * after 300 ms, so that every wait below is short; real timers throughout.
 */
import { isTimeoutError } from '@toolkit/core';
import { Redis } from 'ioredis';
import { Cache } from '@toolkit/cache';
import type { CacheEventMap } from '@toolkit/cache';
import { RedisBackplane, RedisStore } from '@toolkit/cache-redis';
import type { RedisBreakerState } from '@toolkit/cache-redis';
import { closeClient, privateRedisPerTest, within } from '../redisServers';

type L2ErrorEvent = CacheEventMap['CACHE_L2_ERROR'];

const TIMEOUT_MS = 200;
const HALF_OPEN_AFTER_MS = 300;
const guard = { timeoutMs: TIMEOUT_MS, breaker: { consecutiveFailures: 3, halfOpenAfter: HALF_OPEN_AFTER_MS } };
const PREFIX = 'faults';
/** No call may take longer than this (a hung call fails its test instead of running into jest's timeout). */
const CALL_LIMIT_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Rejects after `ms` unless `promise` settles first, so that no call or cleanup can hang a test. */
/** Our guard's TimeoutError (E_TIMEOUT), or ioredis's own command timeout. */
const isTimeout = (error: unknown) =>
  isTimeoutError(error) || /timed out/i.test(String((error as Error | null)?.message));

const bounded = <T>(promise: Promise<T>, what = 'a cache call'): Promise<T> => within(promise, CALL_LIMIT_MS, what);

/** A client that fails fast, for looking at Redis from outside the cache. */
function rawClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: 1_000 });
  client.on('error', () => undefined);
  return client;
}

interface Rig {
  cache: Cache;
  store: RedisStore;
  backplane: RedisBackplane;
  items: ReturnType<Cache['scope']>;
  l2Errors: L2ErrorEvent[];
  /** Factory runs per key. */
  runs: Map<string, number>;
  factory: (key: string) => () => Promise<string>;
}

const redis = privateRedisPerTest();
const closers = redis.closers;

/** A cache as an app would build it on `url`: Redis L2 + backplane, with the short guard above. */
async function rig(url: string, options: { ttl: number; failSafe?: number }): Promise<Rig> {
  const store = RedisStore.connect(url, { prefix: PREFIX, ...guard });
  const backplane = RedisBackplane.connect(url, { prefix: PREFIX, ...guard });
  const cache = new Cache({ prefix: PREFIX, ttl: options.ttl, failSafe: options.failSafe ?? 0, store, backplane });
  closers.push(async () => {
    await cache.close();
    await Promise.all([store.close(), backplane.close()]);
  });
  const l2Errors: L2ErrorEvent[] = [];
  cache.on('CACHE_L2_ERROR', (event) => l2Errors.push(event));
  const runs = new Map<string, number>();
  const factory = (key: string) => async () => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return `value of ${key}`;
  };
  await bounded(cache.ready);
  await bounded(store.ping());
  return { cache, store, backplane, items: cache.scope('items'), l2Errors, runs, factory };
}

/** One call, timed; a rejection is kept, not thrown. */
async function timedCall(r: Rig, key: string): Promise<{ key: string; value?: unknown; error?: unknown; ms: number; at: number }> {
  const at = Date.now();
  try {
    const value = await within(r.items.getOrSet(key, r.factory(key)), CALL_LIMIT_MS, `getOrSet(${key})`);
    return { key, value, ms: Date.now() - at, at };
  } catch (error) {
    return { key, error, ms: Date.now() - at, at };
  }
}

describe('Redis faults (a private redis-server per test)', () => {
  it('killed mid-run: 300 calls over 5 keys across the kill all answer right, and the L2 failures are reported', async () => {
    const s = redis.server;
    // ttl 40 ms: keys keep expiring from L1, so calls keep going to Redis (and, after the kill, to the factory).
    const r = await rig(s.url, { ttl: 40, failSafe: 60_000 });
    const raw = rawClient(s.url);
    closers.push(() => closeClient(raw));
    const N = 300;
    const KILL_AT = 100;
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const calls: Array<Awaited<ReturnType<typeof timedCall>>> = [];
    let killing: Promise<void> | undefined;
    let killedAt = Number.POSITIVE_INFINITY;
    const started = Date.now();

    for (let i = 0; i < N && Date.now() - started < 15_000; i++) {
      if (i === KILL_AT) {
        // The L2 was in use until now: every key is in Redis, nothing failed.
        expect(await raw.exists(...keys.map((k) => r.store.entryKey(r.items.fullKey(k))))).toBe(keys.length);
        expect(r.l2Errors).toEqual([]);
        killedAt = Date.now();
        killing = s.kill(); // a crash while calls go on
      }
      calls.push(await timedCall(r, keys[i % keys.length] as string));
      await sleep(2);
    }
    await killing;

    expect(calls).toHaveLength(N);
    expect(calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect(calls.filter((c) => c.value !== `value of ${c.key}`)).toEqual([]);
    const afterKill = r.l2Errors.filter((e) => e.at >= killedAt);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(afterKill.some((e) => e.operation === 'get')).toBe(true);
    expect(afterKill.some((e) => e.operation === 'set')).toBe(true);
    // Calls after the kill were answered by L1 and the factory, each within the L2 timeouts (get, set, publish).
    expect(calls.slice(KILL_AT).filter((c) => c.ms >= 3 * TIMEOUT_MS + 1_000)).toEqual([]);
    expect(r.store.breakerState).not.toBe('closed'); // it did open: Redis is still down
  });

  it('paused with CLIENT PAUSE for 2 s: every call stays bounded by the L2 timeout and answers right', async () => {
    const s = redis.server;
    const r = await rig(s.url, { ttl: 60_000 });
    expect(await bounded(r.items.getOrSet('warm', r.factory('warm')))).toBe('value of warm');

    const PAUSE_MS = 2_000;
    await s.pause(PAUSE_MS);
    const pausedAt = Date.now();
    const calls: Array<Awaited<ReturnType<typeof timedCall>>> = [];
    // Every call a new key: each misses L1 and would read and write Redis.
    for (let i = 0; i < 200 && Date.now() - pausedAt < PAUSE_MS - 200; i++) {
      calls.push(await timedCall(r, `paused:${i}`));
      await sleep(10);
    }

    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect(calls.filter((c) => c.value !== `value of ${c.key}`)).toEqual([]);
    const slowest = Math.max(...calls.map((c) => c.ms));
    expect(slowest).toBeLessThan(TIMEOUT_MS + 1_000);
    // The pause was real: the first call waited for the timeout, and the timeouts were reported.
    expect(calls[0]!.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    const timeouts = r.l2Errors.filter((e) => isTimeout(e.error));
    expect(timeouts.length).toBeGreaterThan(0);
    expect(timeouts.some((e) => e.operation === 'get')).toBe(true);

    // After the pause the store is used again, by itself.
    const raw = rawClient(s.url);
    closers.push(() => closeClient(raw));
    await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()));
    const deadline = Date.now() + 5_000;
    let n = 0;
    for (;;) {
      const key = `after-pause:${n++}`;
      await bounded(r.items.getOrSet(key, r.factory(key)));
      if ((await raw.exists(r.store.entryKey(r.items.fullKey(key)))) === 1) break;
      if (Date.now() > deadline) throw new Error('writes did not reach Redis within 5 s of the end of the pause');
      await sleep(50);
    }
  });

  it('killed then restarted on the same port: the same cache goes back to Redis by itself (writes and L2 hits)', async () => {
    const s = redis.server;
    const r = await rig(s.url, { ttl: 60_000 });
    const states = new Set<RedisBreakerState>();

    await bounded(r.items.set('before', 'written before the crash'));
    await s.kill();
    const killedAt = Date.now();

    // Down: 10 calls, all answered by the factory; the breaker opens.
    for (let i = 0; i < 10; i++) {
      const call = await timedCall(r, `down:${i}`);
      expect(call.error).toBeUndefined();
      expect(call.value).toBe(`value of down:${i}`);
      expect(call.ms).toBeLessThan(3 * TIMEOUT_MS + 1_000);
      states.add(r.store.breakerState);
      await sleep(50);
    }
    expect(states.has('open')).toBe(true);
    expect(r.l2Errors.filter((e) => e.at >= killedAt).length).toBeGreaterThan(0);

    await s.restart();
    const restartedAt = Date.now();
    expect(s.running).toBe(true);
    const raw = rawClient(s.url);
    closers.push(() => closeClient(raw));
    // Another process writing after the restart (its own store, its own connection).
    const other = RedisStore.connect(s.url, { prefix: PREFIX });
    closers.push(() => other.close());
    const l2HitsBefore = r.cache.stats().l2Hits;

    // Within 5 s: a write of this cache reaches Redis (and its backplane message goes out), and an entry
    // only Redis has is read from there.
    const RECOVERY_MS = 5_000;
    let wrote = false;
    let readBack = false;
    for (let n = 0; !(wrote && readBack); n++) {
      if (Date.now() - restartedAt > RECOVERY_MS) {
        throw new Error(`not recovered ${RECOVERY_MS} ms after the restart (wrote: ${wrote}, read an L2 entry: ${readBack}, breaker: ${r.store.breakerState})`);
      }
      if (!wrote) {
        const key = `after:${n}`;
        const errorsBefore = r.l2Errors.length;
        await bounded(r.items.set(key, `written after the restart ${n}`));
        const failed = r.l2Errors.slice(errorsBefore).map((e) => e.operation); // 'set', 'publish'
        wrote = failed.length === 0 && (await raw.exists(r.store.entryKey(r.items.fullKey(key))).catch(() => 0)) === 1;
      }
      if (!readBack) {
        const key = `from-other:${n}`;
        const written = await other
          .setMany([[r.items.fullKey(key), { value: `from the other process ${n}`, freshUntil: Date.now() + 60_000, staleUntil: Date.now() + 60_000, tags: [] }]])
          .then(() => true, () => false);
        readBack = written && (await bounded(r.items.get(key))) === `from the other process ${n}`;
      }
      await sleep(50);
    }
    const recoveredIn = Date.now() - restartedAt;
    expect(recoveredIn).toBeLessThan(RECOVERY_MS);
    expect(r.cache.stats().l2Hits).toBeGreaterThan(l2HitsBefore);
    expect(r.store.breakerState).toBe('closed');
    expect(r.backplane.breakerState).toBe('closed');
    // The crash lost what Redis held (no persistence): a read of it is a clean miss, not an error.
    const errorsNow = r.l2Errors.length;
    expect(await bounded(r.cache.scope('fresh-l1').getOrSet('before', r.factory('before')))).toBe('value of before');
    expect(r.l2Errors).toHaveLength(errorsNow);
  });

  it.each([
    ['random bytes', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x0a, 0xfe])],
    ['JSON that is not an entry', Buffer.from('{"hello":"world"}\n42')],
    ['an entry header with a broken body', Buffer.from(`{"f":${Date.now() + 60_000},"s":${Date.now() + 60_000},"t":[],"v":[]}\n{"half":`)],
  ])('garbage under a key (%s) is a miss: the factory runs, a decode CACHE_L2_ERROR is emitted', async (_what, bytes) => {
    const s = redis.server;
    const r = await rig(s.url, { ttl: 60_000 });
    const raw = rawClient(s.url);
    closers.push(() => closeClient(raw));
    const key = 'garbage:1';
    await raw.set(r.store.entryKey(r.items.fullKey(key)), bytes);

    expect(await bounded(r.items.getOrSet(key, r.factory(key)))).toBe(`value of ${key}`);
    expect(r.runs.get(key)).toBe(1);
    const decode = r.l2Errors.filter((e) => e.operation === 'decode');
    expect(decode).toHaveLength(1);
    expect(decode[0]).toMatchObject({ type: 'CACHE_L2_ERROR', scope: 'items', key: `items:${key}` });
    expect(decode[0]!.error).toBeInstanceOf(Error);
    expect(r.l2Errors).toHaveLength(1); // nothing else failed

    // The factory's value replaced the garbage in Redis: another process's L1 reads it back as an L2 hit.
    const reader = new Cache({ prefix: PREFIX, store: r.store }).scope('items');
    expect(await bounded(reader.get(key))).toBe(`value of ${key}`);
    expect(reader.stats().l2Hits).toBe(1);
    expect(r.l2Errors).toHaveLength(1);
  });
});
