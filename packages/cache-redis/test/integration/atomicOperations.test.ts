/**
 * `setIfAbsent` and `incr` are atomic across processes only while Redis answers. On a redis-server this
 * file starts for itself (never the shared one) and stops, pauses, or fills with a key of the wrong type,
 * they reject with a `CacheAtomicError` (its `cause` the store's error) instead of answering from one
 * process's memory — unless the cache asks for that with `atomicFallback: 'local'`.
 *
 * Two `Cache` instances, each with its own connections, stand for two processes. Real timers throughout;
 * the store's timeout is 200 ms and its breaker opens after 3 failures (and stays open for a minute), so
 * every wait is short.
 */
import { Redis } from 'ioredis';
import { BrokenCircuitError } from 'cockatiel';
import { Cache, CacheAtomicError, isCacheAtomicError } from '@toolkit/cache';
import type { AtomicFallback, CacheEventMap } from '@toolkit/cache';
import { isTimeoutError } from '@toolkit/core';
import { RedisStore } from '@toolkit/cache-redis';
import { closeClient, killAllTrackedRedisServers, startRedisServer, within } from '../redisServers';
import type { RedisServerHandle } from '../redisServers';

const PREFIX = 'atomic';
const guard = { timeoutMs: 200, breaker: { consecutiveFailures: 3, halfOpenAfter: 60_000 } };

/** What a call rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await within(promise).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error;
}

let server: RedisServerHandle | undefined;
const closers: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await within(Promise.resolve(close())).catch((error: unknown) => console.error(error));
  await server?.stop();
  server = undefined;
});

afterAll(async () => {
  await killAllTrackedRedisServers(); // only does something if a test failed half-way
});

/** One "process": a cache with a Redis L2 of its own connection. */
function process_(url: string, atomicFallback?: AtomicFallback) {
  const store = RedisStore.connect(url, { prefix: PREFIX, ...guard });
  const cache = new Cache({ prefix: PREFIX, ttl: 60_000, store, ...(atomicFallback === undefined ? {} : { atomicFallback }) });
  const l2Errors: Array<CacheEventMap['CACHE_L2_ERROR']> = [];
  cache.on('CACHE_L2_ERROR', (event) => l2Errors.push(event));
  closers.push(async () => {
    await cache.close();
    await store.close();
  });
  return { cache, store, scope: cache.scope<unknown>('s'), l2Errors };
}

function rawClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: 1_000 });
  client.on('error', () => undefined);
  closers.push(() => closeClient(client));
  return client;
}

describe('setIfAbsent and incr when Redis cannot answer (a private redis-server per test)', () => {
  it('Redis stopped: both processes reject with CacheAtomicError (timeout, then breaker open); none "wins" locally', async () => {
    const url = server!.url;
    const a = process_(url);
    const b = process_(url);
    await within(Promise.all([a.store.ping(), b.store.ping()]));

    // While Redis answers: one winner, one count.
    expect(await within(Promise.all([a.scope.setIfAbsent('lock:1', 'a'), b.scope.setIfAbsent('lock:1', 'b')]))).toEqual(
      expect.arrayContaining([true, false]),
    );
    expect(await within(a.scope.incr('hits'))).toBe(1);
    expect(await within(b.scope.incr('hits'))).toBe(2);

    await server!.stop();

    const errors: Error[] = [];
    for (const p of [a, b]) {
      errors.push(await rejection(p.scope.setIfAbsent('lock:2', 'mine')));
      errors.push(await rejection(p.scope.incr('count')));
    }
    for (const error of errors) {
      expect(error).toBeInstanceOf(CacheAtomicError);
      expect(isCacheAtomicError(error)).toBe(true);
      expect(error.cause).toBeInstanceOf(Error);
    }
    expect(errors.map((e) => [(e as CacheAtomicError).operation, (e as CacheAtomicError).key, (e as CacheAtomicError).code])).toEqual([
      ['setIfAbsent', 's:lock:2', 'E_CACHE_ATOMIC'],
      ['incr', 's:count', 'E_CACHE_ATOMIC'],
      ['setIfAbsent', 's:lock:2', 'E_CACHE_ATOMIC'],
      ['incr', 's:count', 'E_CACHE_ATOMIC'],
    ]);
    // Nothing was answered from, or written to, this process's memory.
    expect([a.scope.getSync('lock:2'), a.scope.getSync('count'), b.scope.getSync('lock:2'), b.scope.getSync('count')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);

    // After 3 failures in a row the breaker is open: the call is refused at once, still as CacheAtomicError.
    for (let i = 0; i < 3 && a.store.breakerState !== 'open'; i++) await rejection(a.scope.incr('count'));
    expect(a.store.breakerState).toBe('open');
    const started = Date.now();
    const refused = await rejection(a.scope.incr('count'));
    expect(Date.now() - started).toBeLessThan(150); // no 200 ms timeout: refused without touching Redis
    expect(refused).toBeInstanceOf(CacheAtomicError);
    expect(refused.cause).toBeInstanceOf(BrokenCircuitError);
    expect(a.l2Errors.filter((e) => e.operation === 'increment' || e.operation === 'setIfAbsent').length).toBeGreaterThanOrEqual(4);
  });

  it('Redis paused (CLIENT PAUSE): the timeout is the cause', async () => {
    const a = process_(server!.url);
    await within(a.store.ping());
    await server!.pause(1_500);
    const error = await rejection(a.scope.setIfAbsent('k', 'v'));
    expect(error).toBeInstanceOf(CacheAtomicError);
    expect(isTimeoutError(error.cause) || /timed out/i.test(String((error.cause as Error).message))).toBe(true);
    expect(a.scope.getSync('k')).toBeUndefined();
  });

  it('a key of the wrong type (a Redis hash): incr and setIfAbsent reject with the WRONGTYPE reply as cause', async () => {
    const a = process_(server!.url);
    const raw = rawClient(server!.url);
    await raw.hset(a.store.entryKey('s:counter'), 'field', '1');

    const counted = await rejection(a.scope.incr('counter'));
    expect(counted).toBeInstanceOf(CacheAtomicError);
    expect((counted as CacheAtomicError).operation).toBe('incr');
    expect(String((counted.cause as Error).message)).toMatch(/^WRONGTYPE/);
    expect(counted.message).toMatch(/^`incr` of `s:counter` in scope `s` has no answer that holds across processes: the L2 failed \(WRONGTYPE/);

    const set = await rejection(a.scope.setIfAbsent('counter', 'v'));
    expect(set).toBeInstanceOf(CacheAtomicError);
    expect(String((set.cause as Error).message)).toMatch(/^WRONGTYPE/);
    expect(a.scope.getSync('counter')).toBeUndefined();
    expect(await raw.type(a.store.entryKey('s:counter'))).toBe('hash'); // untouched
  });

  it("atomicFallback: 'local' answers from each process's L1 when Redis is stopped (the documented trade-off)", async () => {
    const url = server!.url;
    const a = process_(url, 'local');
    const b = process_(url, 'local');
    await within(Promise.all([a.store.ping(), b.store.ping()]));
    await server!.stop();
    // Each process decides alone: both win, both count from 1.
    expect(await within(Promise.all([a.scope.setIfAbsent('lock', 'a'), b.scope.setIfAbsent('lock', 'b')]))).toEqual([true, true]);
    expect(await within(Promise.all([a.scope.incr('n'), b.scope.incr('n')]))).toEqual([1, 1]);
    // (The lost connection itself is reported too, as 'connection', whenever the client notices it.)
    expect(a.l2Errors.map((e) => e.operation).filter((op) => op !== 'connection')).toEqual(['setIfAbsent', 'increment']);
  });
});
